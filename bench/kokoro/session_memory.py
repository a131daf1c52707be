"""onnxruntime's memory settings against a Kokoro batch's RSS, each in a fresh child (issue 22).

    python bench/kokoro/session_memory.py [--chunks 3] [--rounds 1] CONFIG...

A CONFIG is ``name:SETTING=VALUE,SETTING=VALUE`` over the module constants of
``bulletin.engines.offline.kokoro.speaker`` (``CPU_ARENA``, ``MEMORY_PATTERN``, ``PREPACK``,
``SHRINK_ARENA``, ``FRAMES_IN_FLIGHT``, ``MAX_PIECE_TOKENS``; booleans as 0/1), e.g.
``base:`` ``noarena:CPU_ARENA=0``. Each child loads the two halves and speaks the sample's
first CHUNKS chunks (as ``bulletin build --dry-run`` cuts them) in zm_yunxi with the
engine's two threads, reading ``VmRSS`` every 10 ms. Printed per config: RSS after the
imports, after each session's load, the peak while speaking (and over the load), CPU
seconds of the speaking, decoder frames, and a digest of the clips (a setting that
changes samples shows another digest). Configs are interleaved over rounds, so a
loaded machine hits them alike.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: The start of every child of these memory benches: the tree to import, and the RSS in MB.
PREAMBLE = r"""
import hashlib, json, os, sys, threading, time
sys.path.insert(0, sys.argv[1])
def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
"""

CHILD = PREAMBLE + r"""marks = {"start": rss()}
from bulletin.engines.offline.kokoro import speaker as k
from bulletin.engines.offline.kokoro import store
settings = json.loads(sys.argv[2]); chunks = json.loads(sys.argv[3])
for name, value in settings.items():
    setattr(k, name, type(getattr(k, name))(value))
marks["imports"] = rss()
peak = [0.0]
stop = threading.Event()
def sample():
    while not stop.is_set():
        peak[0] = max(peak[0], rss()); time.sleep(0.01)
threading.Thread(target=sample, daemon=True).start()
files = store.model_files()
speaker = k.KokoroSpeaker(files, 2)
marks["loaded"] = rss()
marks["load_peak"] = peak[0]
style = k.Style(k.voice_vectors("zm_yunxi"))
speaker.frontend.pieces("預熱。")  # the frontend's dictionaries, before the figure
marks["frontend"] = rss()
frames = [0]
real = speaker.decode
def decode(call):
    frames[0] += call.frames
    return real(call)
speaker.decode = decode
peak[0] = 0.0
cpu = time.process_time()
clips = speaker.speak(chunks, style)
marks["cpu"] = time.process_time() - cpu
stop.set()
marks["speak_peak"] = peak[0]
marks["after"] = rss()
marks["frames"] = frames[0]
marks["audio_s"] = sum((len(c.data) - 44) / 2 / 24000 for c in clips)
marks["digest"] = hashlib.sha256(b"".join(c.data for c in clips)).hexdigest()[:10]
print(json.dumps(marks))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("configs", nargs="+")
    parser.add_argument("--chunks", type=int, default=3)
    parser.add_argument("--skip", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    command = [sys.executable, "-m", "bulletin", "build", str(ROOT / "examples" / "six-party-talks.txt")]
    command += ["--engine", "offline", "--dry-run", "--json"]
    plan = json.loads(subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT).stdout)
    chunks = [c["spoken"] for c in plan["chunks"]][args.skip : args.skip + args.chunks]
    for r in range(args.rounds):
        for config in args.configs:
            name, _, rest = config.partition(":")
            settings = dict(item.split("=") for item in rest.split(",") if item)
            settings = {k: (int(v) if v.lstrip("-").isdigit() else v) for k, v in settings.items()}
            done = subprocess.run(
                [sys.executable, "-c", CHILD, str(ROOT), json.dumps(settings), json.dumps(chunks)],
                capture_output=True,
                text=True,
            )
            if done.returncode:
                print(name, "failed:", done.stderr.strip().splitlines()[-1:])
                continue
            m = json.loads(done.stdout.strip().splitlines()[-1])
            print(
                f"r{r} {name:12s} imports {m['imports']:.0f} loaded {m['loaded']:.0f} (load peak "
                f"{m['load_peak']:.0f}) frontend {m['frontend']:.0f} | speak peak {m['speak_peak']:.0f} "
                f"after {m['after']:.0f} | CPU {m['cpu']:.1f} s, {m['frames']} frames, "
                f"{m['audio_s']:.1f} audio s, CPU/audio {m['cpu'] / m['audio_s']:.3f} | {m['digest']}",
                flush=True,
            )


if __name__ == "__main__":
    main()
