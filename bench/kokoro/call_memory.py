"""RSS a Kokoro decoder call adds, alone and two at once, per onnxruntime setting (issue 22).

    python bench/kokoro/call_memory.py CONFIG...

CONFIG as in ``session_memory.py`` (module constants of the speaker), plus ``ENV.NAME=V``
items set in the child's environment (``ENV.MALLOC_MMAP_THRESHOLD_=1048576``). Each child
loads the halves, runs the predictor on one sentence made long enough for ~180 frames,
then decodes it alone three times and twice at once (two threads) three times, reading
``VmRSS`` every 5 ms: printed are the RSS before, the peak of each step above it, and
the RSS left after each step (what the arena or the heap keeps between calls).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from session_memory import PREAMBLE  # noqa: E402

CHILD = PREAMBLE + r"""from bulletin.engines.offline.kokoro import speaker as k
from bulletin.engines.offline.kokoro import store
from bulletin.engines.offline.heap import release_free_memory
for name, value in json.loads(sys.argv[2]).items():
    setattr(k, name, type(getattr(k, name))(value))
speaker = k.KokoroSpeaker(store.model_files(), 2)
style = k.Style(k.voice_vectors("zm_yunxi"))
text = "為了替這次會談營造善意，北韓放出風聲，願意在會談中討論核問題，國際社會高度關注第二輪六方會談明天將在北京召開。"
piece = speaker.frontend.pieces(text, 100)[0]
call = speaker.prepare(piece, style)
release_free_memory()
peak = [0.0]
stop = threading.Event()
def sample():
    while not stop.is_set():
        peak[0] = max(peak[0], rss()); time.sleep(0.005)
threading.Thread(target=sample, daemon=True).start()
out = {"frames": call.frames, "tokens": len(piece.ids), "base": rss()}
cpu = time.process_time()
for step in ("one", "one", "one", "two", "two", "two"):
    peak[0] = 0.0
    before = rss()
    if step == "one":
        speaker.decode(call)
    else:
        threads = [threading.Thread(target=speaker.decode, args=(call,)) for _ in range(2)]
        [t.start() for t in threads]; [t.join() for t in threads]
    out.setdefault(step, []).append((round(peak[0] - out["base"]), round(rss() - out["base"])))
out["cpu"] = time.process_time() - cpu
stop.set()
print(json.dumps(out))
"""


def main() -> None:
    for config in sys.argv[1:]:
        name, _, rest = config.partition(":")
        settings, env = {}, dict(__import__("os").environ)
        for item in filter(None, rest.split(",")):
            key, value = item.split("=", 1)
            if key.startswith("ENV."):
                env[key[4:]] = value
            else:
                settings[key] = int(value)
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(ROOT), json.dumps(settings)], capture_output=True, text=True, env=env
        )
        if done.returncode:
            print(name, "failed:", done.stderr.strip().splitlines()[-1:])
            continue
        m = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"{name:14s} {m['tokens']} tokens {m['frames']} frames, base {m['base']:.0f} MB | alone (peak, left) "
            f"{m['one']} | two at once {m['two']} | CPU {m['cpu']:.1f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
