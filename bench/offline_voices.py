"""Real-time factor, CPU and peak memory of whole offline builds, Kokoro and Baker, in one run.

Usage:
    python bench/offline_voices.py                              # zm_yunxi, zf_xiaoxiao, baker
    python bench/offline_voices.py --voices zm_yunxi baker --rounds 3
    python bench/offline_voices.py --voices zm_yunxi --settings 100/240/1 100/240/2 100/360
    python bench/offline_voices.py --voices all --cer            # + recognizer CER per voice
    python bench/offline_voices.py --voices zm_yunxi --before /tmp/base --kokoro-onnx /tmp/konnx/bin/python

Each build is ``bulletin build examples/six-party-talks.txt --engine offline --voice V
--no-cache --force`` in a child process with empty cache and state folders (the models
must be installed: ``bulletin voices install --baker``; the first build of a new setting
also pays for nothing else). A Kokoro setting ``P/F`` sets the longest model call
``kokoro.MAX_PIECE_TOKENS = P`` and the decoder's frames in flight
``kokoro.FRAMES_IN_FLIGHT = F`` in the child before the CLI runs, ``P/F/T`` also a call's
intra-op threads ``kokoro.INTRA_OP_THREADS = T``; ``--workers N`` sets the
engine's threads. ``--before DIR`` also builds with the bulletin package in ``DIR`` (a
``git archive`` of an older commit; its own setting, as it shipped), so today's figures
stand beside the change's in the same run. ``--kokoro-onnx PYTHON`` also runs
``bench/kokoro/kokoro_onnx_run.py`` with that Python (a venv with ``kokoro-onnx==0.6.1``)
on the same phonemes, model file and voice.

Reported per build: wall seconds, audio seconds (the MP3), RTF = wall / audio, CPU
seconds (user + sys of the child and what it waited for, from ``wait4``) per audio
second, peak RSS (``ru_maxrss``: the largest of the build and of its ffmpeg
children) and the largest sum of the RSS of the build and its children at one time
(sampled every 50 ms from ``/proc``: what the machine had to hold). On this shared
2-core machine the wall time moves with the load; CPU per audio second moves much less,
and half of it estimates the 2-core RTF on a quiet machine. Rounds are interleaved
(every config once, then again), and the median is printed.

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
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "six-party-talks.txt"
ASR_PYTHON = Path("/root/.cache/bulletin-asr/venv/bin/python")
#: shared/ beside the checkout, or beside the folder of worktrees (/work/wt/NAME)
_SHARED = [ROOT.parent / "shared", ROOT.parent.parent / "shared"]
ASR_TOOL = next((p for p in _SHARED if (p / "tools").is_dir()), _SHARED[0]) / "tools" / "asr_cer.py"

CHILD = """
import sys
import bulletin.engines.offline.kokoro.speaker as k
import bulletin.engines.offline.engine as o
piece, flight, threads, workers = sys.argv[1:5]
if piece != "-":
    k.MAX_PIECE_TOKENS, k.FRAMES_IN_FLIGHT = int(piece), int(flight)
if threads != "-":
    k.INTRA_OP_THREADS = int(threads)
if workers != "-":
    real = o.OfflineEngine.__init__
    def init(self, workers=None, data_dir=None, _n=int(workers)):
        real(self, workers=_n, data_dir=data_dir)
    o.OfflineEngine.__init__ = init
from bulletin.cli import main
sys.argv = ["bulletin", *sys.argv[5:]]
main()
"""


def tree_rss(pid: int) -> int:
    """The summed RSS in kB of ``pid`` and its descendants now (0 when it is gone)."""
    total, todo = 0, [pid]
    while todo:
        here = todo.pop()
        try:
            status = Path(f"/proc/{here}/status").read_text()
            total += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
            for task in Path(f"/proc/{here}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration, ValueError):
            continue
    return total


def watch(child: subprocess.Popen) -> tuple[int, Any, int]:
    """Wait for ``child`` (``wait4``), sampling its tree's summed RSS: status, usage, peak sum kB."""
    peak = 0
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            return status, usage, peak
        peak = max(peak, tree_rss(child.pid))
        time.sleep(0.05)


def build(
    voice: str, setting: str, workers: str, scratch: Path, tree: Path | None = None
) -> dict[str, float]:
    """One build in a child (with the package in ``tree`` if given); wall, CPU, peak RSS, audio s."""
    piece, flight, threads = [*setting.split("/"), "-"][:3] if setting != "-" else ("-", "-", "-")
    name = f"{voice}{'-before' if tree else ''}"
    out = scratch / f"{name}.mp3"
    report = scratch / f"{name}.json"
    env = dict(os.environ)
    for var in ("BULLETIN_CACHE_DIR", "BULLETIN_STATE_DIR"):
        env[var] = tempfile.mkdtemp(prefix=var.lower() + "-", dir=scratch)
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
        piece = flight = threads = "-"
    command = [sys.executable, "-c", CHILD, piece, flight, threads, workers, "build", "-q", str(SAMPLE)]
    command += ["--engine", "offline", "--voice", voice, "--no-cache", "--force", "-o", str(out)]
    command += ["--report", str(report)]
    start = time.perf_counter()
    # cwd: ``python -c`` puts the working folder first on sys.path, ahead of PYTHONPATH, so
    # run from the checkout a "before" build imported the checkout's package, not the tree's
    child = subprocess.Popen(command, env=env, cwd=scratch)
    status, usage, tree_peak = watch(child)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"build failed for {voice} {setting}: status {status}")
    audio = float(json.loads(report.read_text())["output"]["duration_seconds"])
    return measured(wall, audio, usage, tree_peak)


def measured(wall: float, audio: float, usage: Any, tree_peak: int) -> dict[str, float]:
    cpu = usage.ru_utime + usage.ru_stime
    return {
        "wall": wall,
        "audio": audio,
        "cpu": cpu,
        "peak_mb": usage.ru_maxrss / 1024,
        "sum_mb": tree_peak / 1024,
    }


def kokoro_onnx(python: str, voice: str, scratch: Path) -> dict[str, float]:
    """kokoro-onnx 0.6.1 on the sample's phonemes from bulletin's frontend (whole chunks)."""
    sys.path.insert(0, str(ROOT))
    from bulletin.engines.offline.kokoro import store as kokoro_store
    from bulletin.engines.offline.kokoro.frontend import MAX_TOKENS, KokoroFrontend
    from bulletin.engines.offline.kokoro.speaker import vocab_table
    from bulletin.engines.voices import kokoro_files_dir

    command = [
        sys.executable,
        "-m",
        "bulletin",
        "build",
        str(SAMPLE),
        "--engine",
        "offline",
        "--dry-run",
        "--json",
    ]
    plan = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
    frontend = KokoroFrontend(vocab_table())
    chunks = [p for c in plan["chunks"] for p in frontend.pieces(c["spoken"], MAX_TOKENS)]
    phonemes = scratch / "phonemes.json"
    phonemes.write_text(
        json.dumps([{"phonemes": p.phonemes, "ids": p.ids} for p in chunks]), encoding="utf-8"
    )
    model = kokoro_store.ensure_model()
    wav = scratch / f"{voice}-kokoro-onnx.wav"
    script = ROOT / "bench" / "kokoro" / "kokoro_onnx_run.py"
    start = time.perf_counter()
    child = subprocess.Popen(
        [python, str(script), str(model), str(kokoro_files_dir() / f"{voice}.bin"), str(phonemes), str(wav)],
        stdout=subprocess.PIPE,
        text=True,
    )
    status, usage, tree_peak = watch(child)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"kokoro-onnx failed: status {status}")
    made = json.loads(child.stdout.read() if child.stdout else "{}")
    cpu = usage.ru_utime + usage.ru_stime
    return {
        "wall": wall,
        "audio": made["audio"],
        "cpu": cpu,
        "peak_mb": usage.ru_maxrss / 1024,
        "sum_mb": tree_peak / 1024,
    }


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
    parser.add_argument("--settings", nargs="+", default=["-"], help="Kokoro P/F[/T] settings ('-': shipped)")
    parser.add_argument("--workers", default="-", help="engine threads ('-': one per core)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--cer", action="store_true", help="also the recognizer round trip per voice")
    parser.add_argument("--keep", type=Path, help="keep MP3s and reports here")
    parser.add_argument("--before", type=Path, help="also build with the bulletin package in this folder")
    parser.add_argument(
        "--kokoro-onnx", help="a Python with kokoro-onnx 0.6.1: also run it on the first voice"
    )
    args = parser.parse_args()
    voices = args.voices
    if voices == ["all"]:
        sys.path.insert(0, str(ROOT))
        from bulletin.engines.voices import KOKORO_VOICES

        voices = [*KOKORO_VOICES, "baker"]
    configs = [(v, s) for v in voices for s in (["-"] if v == "baker" else args.settings)]
    if args.before:
        configs += [(v, "before") for v in voices if v != "baker"]
    if args.kokoro_onnx:
        configs.append((voices[0], "kokoro-onnx"))
    results: dict[tuple[str, str], list[dict[str, float]]] = {c: [] for c in configs}
    rates: dict[tuple[str, str], float | None] = {}
    with tempfile.TemporaryDirectory(prefix="offline-voices-") as tmp:
        scratch = args.keep or Path(tmp)
        scratch.mkdir(parents=True, exist_ok=True)
        for _ in range(args.rounds):
            for voice, setting in configs:
                if setting == "kokoro-onnx":
                    r = kokoro_onnx(args.kokoro_onnx, voice, scratch)
                elif setting == "before":
                    r = build(voice, "-", args.workers, scratch, args.before)
                else:
                    r = build(voice, setting, args.workers, scratch)
                results[(voice, setting)].append(r)
                if args.cer and (voice, setting) not in rates and setting != "kokoro-onnx":
                    name = f"{voice}{'-before' if setting == 'before' else ''}.mp3"
                    rates[(voice, setting)] = cer(scratch / name, scratch)
                print(f"  {voice} {setting}: {r} load {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)
    load = os.getloadavg()[0]
    print(
        "| voice | setting | wall s | audio s | RTF (wall) | CPU s / audio s | peak RSS MB | tree MB | CER |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for (voice, setting), runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        rate = rates.get((voice, setting))
        print(
            f"| {voice} | {setting if voice != 'baker' else '—'} | {med['wall']:.1f} | {med['audio']:.1f} | "
            f"{med['wall'] / med['audio']:.3f} | {med['cpu'] / med['audio']:.3f} | {med['peak_mb']:.0f} | "
            f"{med['sum_mb']:.0f} | {'' if rate is None else f'{rate:.3f}'} |"
        )
    print(f"\n(load average at the end: {load:.1f}; {args.rounds} round(s), median)")


if __name__ == "__main__":
    main()
