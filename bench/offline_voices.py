"""Real-time factor, CPU and peak memory of whole offline builds, Kokoro and Baker, in one run.

Usage:
    python bench/offline_voices.py                              # zm_yunxi, zf_xiaoxiao, baker
    python bench/offline_voices.py --voices zm_yunxi baker --rounds 3
    python bench/offline_voices.py --voices zm_yunxi --settings 250/300 510/510 120/240
    python bench/offline_voices.py --voices all --cer            # + recognizer CER per voice

Each build is ``bulletin build examples/six-party-talks.txt --engine offline --voice V
--no-cache --force`` in a child process with empty cache and state folders (the models
must be installed: ``bulletin voices install --baker``; the first build of a new setting
also pays for nothing else). A Kokoro setting ``P/F`` sets the longest model call
``kokoro.MAX_PIECE_TOKENS = P`` and the tokens in flight ``kokoro.IN_FLIGHT_TOKENS = F``
in the child before the CLI runs (``P/Fs``: also ``kokoro.SHRINK_ARENA = True``);
``--workers N`` sets the engine's threads.

Reported per build: wall seconds, audio seconds (the MP3), RTF = wall / audio, CPU
seconds (user + sys of the child and what it waited for, from ``wait4``) per audio
second, and peak RSS (``ru_maxrss``: the largest of the build and of its ffmpeg
children). On this shared 2-core machine the wall time moves with the load; CPU per
audio second moves much less, and half of it estimates the 2-core RTF on a quiet
machine. Rounds are interleaved (every config once, then again), and the median is printed.

``--cer`` also runs the recognizer round trip (``/work/shared/tools/asr_cer.py`` with
its venv; see bench/README.md) on each voice's MP3 against ``bulletin clean``'s text.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "six-party-talks.txt"
ASR_PYTHON = Path("/root/.cache/bulletin-asr/venv/bin/python")
ASR_TOOL = ROOT.parent / "shared" / "tools" / "asr_cer.py"

CHILD = """
import sys
import bulletin.engines.offline.kokoro.speaker as k
import bulletin.engines.offline.engine as o
piece, flight, workers = sys.argv[1:4]
if piece != "-":
    k.MAX_PIECE_TOKENS, k.IN_FLIGHT_TOKENS = int(piece), int(flight.rstrip("s"))
    k.SHRINK_ARENA = flight.endswith("s")
if workers != "-":
    real = o.OfflineEngine.__init__
    def init(self, workers=None, data_dir=None, _n=int(workers)):
        real(self, workers=_n, data_dir=data_dir)
    o.OfflineEngine.__init__ = init
from bulletin.cli import main
sys.argv = ["bulletin", *sys.argv[4:]]
main()
"""


def build(voice: str, setting: str, workers: str, scratch: Path) -> dict[str, float]:
    """One build in a child; its wall, CPU, peak RSS and audio seconds."""
    piece, flight = setting.split("/") if setting != "-" else ("-", "-")
    out = scratch / f"{voice}.mp3"
    report = scratch / f"{voice}.json"
    env = dict(os.environ)
    for name in ("BULLETIN_CACHE_DIR", "BULLETIN_STATE_DIR"):
        env[name] = tempfile.mkdtemp(prefix=name.lower() + "-", dir=scratch)
    command = [sys.executable, "-c", CHILD, piece, flight, workers, "build", "-q", str(SAMPLE)]
    command += ["--engine", "offline", "--voice", voice, "--no-cache", "--force", "-o", str(out)]
    command += ["--report", str(report)]
    start = time.perf_counter()
    child = subprocess.Popen(command, env=env)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"build failed for {voice} {setting}: status {status}")
    audio = float(json.loads(report.read_text())["output"]["duration_seconds"])
    cpu = usage.ru_utime + usage.ru_stime
    return {"wall": wall, "audio": audio, "cpu": cpu, "peak_mb": usage.ru_maxrss / 1024}


def cer(mp3: Path, scratch: Path) -> float | None:
    """The recognizer's character error rate for ``mp3`` (None when the tool is not there)."""
    if not (ASR_PYTHON.exists() and ASR_TOOL.exists()):
        return None
    reference = scratch / "ref.txt"
    if not reference.exists():
        command = [sys.executable, "-m", "bulletin", "clean", str(SAMPLE)]
        text = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        reference.write_text(text, encoding="utf-8")
    done = subprocess.run(
        [str(ASR_PYTHON), str(ASR_TOOL), str(mp3), str(reference)], capture_output=True, text=True
    )
    for line in done.stdout.splitlines():
        if line.startswith("cer="):
            return float(line.removeprefix("cer="))
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voices", nargs="+", default=["zm_yunxi", "zf_xiaoxiao", "baker"])
    parser.add_argument("--settings", nargs="+", default=["-"], help="Kokoro P/F settings ('-': shipped)")
    parser.add_argument("--workers", default="-", help="engine threads ('-': one per core)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--cer", action="store_true", help="also the recognizer round trip per voice")
    parser.add_argument("--keep", type=Path, help="keep MP3s and reports here")
    args = parser.parse_args()
    voices = args.voices
    if voices == ["all"]:
        sys.path.insert(0, str(ROOT))
        from bulletin.engines.voices import KOKORO_VOICES

        voices = [*KOKORO_VOICES, "baker"]
    configs = [(v, s) for v in voices for s in (["-"] if v == "baker" else args.settings)]
    results: dict[tuple[str, str], list[dict[str, float]]] = {c: [] for c in configs}
    rates: dict[tuple[str, str], float | None] = {}
    with tempfile.TemporaryDirectory(prefix="offline-voices-") as tmp:
        scratch = args.keep or Path(tmp)
        scratch.mkdir(parents=True, exist_ok=True)
        for _ in range(args.rounds):
            for voice, setting in configs:
                results[(voice, setting)].append(build(voice, setting, args.workers, scratch))
                if args.cer and (voice, setting) not in rates:
                    rates[(voice, setting)] = cer(scratch / f"{voice}.mp3", scratch)
                r = results[(voice, setting)][-1]
                print(f"  {voice} {setting}: {r}", file=sys.stderr, flush=True)
    load = os.getloadavg()[0]
    print("| voice | pieces/in flight | wall s | audio s | RTF | CPU s / audio s | peak RSS MB | CER |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for (voice, setting), runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        rate = rates.get((voice, setting))
        print(
            f"| {voice} | {setting if voice != 'baker' else '—'} | {med['wall']:.1f} | {med['audio']:.1f} | "
            f"{med['wall'] / med['audio']:.3f} | {med['cpu'] / med['audio']:.3f} | {med['peak_mb']:.0f} | "
            f"{'' if rate is None else f'{rate:.3f}'} |"
        )
    print(f"\n(load average at the end: {load:.1f}; {args.rounds} round(s), median)")


if __name__ == "__main__":
    main()
