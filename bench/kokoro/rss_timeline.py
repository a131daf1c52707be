"""What sets a Kokoro build's peak RSS: the process's RSS sampled every 10 ms beside what runs.

Usage:
    python bench/kokoro/rss_timeline.py [--voice zm_yunxi] [--input FILE] [--set NAME=VALUE ...]

Runs ``bulletin build INPUT --engine offline`` in this process (empty cache and state
folders), with a thread reading ``VmRSS`` from ``/proc/self/status`` every 10 ms, and the
engine's steps wrapped so they mark the timeline: the sessions' loads, each predictor and
decoder call (with its frames), each text's join, the frontend's first use, assembly.
Prints the peak, what was running at it, and RSS after each step of the load; ``--set``
changes a module constant of ``bulletin.engines.offline.kokoro.speaker`` first
(``--set FRAMES_IN_FLIGHT=200``). ``ru_maxrss`` is printed too (what offline_voices.py
reports).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

SAMPLES: list[tuple[float, int]] = []
EVENTS: list[tuple[float, str]] = []
RUNNING: dict[str, int] = {}
LOCK = threading.Lock()
T0 = time.perf_counter()


def rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1])
    return 0


def mark(what: str) -> None:
    with LOCK:
        EVENTS.append((time.perf_counter() - T0, f"{what} rss={rss_kb() / 1024:.0f}"))


def sampler(stop: threading.Event, at_peak: list) -> None:
    peak = 0
    while not stop.is_set():
        now = rss_kb()
        SAMPLES.append((time.perf_counter() - T0, now))
        if now > peak:
            peak = now
            with LOCK:
                at_peak[:] = [now, time.perf_counter() - T0, dict(RUNNING)]
        time.sleep(0.01)


def running(name: str, fn):
    def wrapped(*args, **kwargs):
        key = f"{name}"
        with LOCK:
            RUNNING[key] = RUNNING.get(key, 0) + 1
        try:
            return fn(*args, **kwargs)
        finally:
            with LOCK:
                RUNNING[key] -= 1
                if not RUNNING[key]:
                    del RUNNING[key]

    return wrapped


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--voice", default="zm_yunxi")
    parser.add_argument("--input", default=str(ROOT / "examples" / "six-party-talks.txt"))
    parser.add_argument("--set", nargs="*", default=[])
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="rss-"))
    os.environ["BULLETIN_CACHE_DIR"] = str(scratch / "cache")
    os.environ["BULLETIN_STATE_DIR"] = str(scratch / "state")
    mark("start")
    import bulletin.engines.offline.kokoro.speaker as k

    for item in args.set:
        name, value = item.split("=")
        setattr(k, name, type(getattr(k, name))(value) if not isinstance(getattr(k, name), bool) else value == "1")
    mark("imported speaker")

    real_open = k.open_session

    def open_session(model, *args, **kwargs):
        mark(f"load {Path(model).name} begins")
        s = real_open(model, *args, **kwargs)
        mark(f"load {Path(model).name} done")
        return s

    k.open_session = open_session
    real_prepare, real_decode = k.KokoroSpeaker.prepare, k.KokoroSpeaker.decode

    def decode(self, call):
        mark(f"decode {call.frames} begins (running {dict(RUNNING)})")
        with LOCK:
            RUNNING[f"decode{call.frames}"] = RUNNING.get(f"decode{call.frames}", 0) + 1
        try:
            return real_decode(self, call)
        finally:
            with LOCK:
                RUNNING[f"decode{call.frames}"] -= 1
                if not RUNNING[f"decode{call.frames}"]:
                    del RUNNING[f"decode{call.frames}"]
            mark(f"decode {call.frames} ends")

    k.KokoroSpeaker.prepare = running("predict", real_prepare)
    k.KokoroSpeaker.decode = decode
    k.join_timed = running("join", k.join_timed)
    real_speak = k.KokoroSpeaker.speak

    def speak(self, texts, *a, **kw):
        mark(f"speak {len(texts)} texts begins")
        out = real_speak(self, texts, *a, **kw)
        mark("speak done")
        return out

    k.KokoroSpeaker.speak = speak
    import bulletin.engines.offline.kokoro.frontend as fe

    fe.KokoroFrontend.pieces = running("frontend", fe.KokoroFrontend.pieces)
    import bulletin.audio.assemble as asm

    asm.assemble = running("assemble", asm.assemble)

    stop = threading.Event()
    at_peak: list = []
    thread = threading.Thread(target=sampler, args=(stop, at_peak), daemon=True)
    thread.start()
    from bulletin.cli import main as cli

    out = args.out or str(scratch / "out.mp3")
    argv = ["bulletin", "build", "-q", args.input, "--engine", "offline", "--voice", args.voice]
    argv += ["--no-cache", "--force", "-o", out]
    sys.argv = argv
    cpu0 = time.process_time()
    try:
        cli()
    except SystemExit:
        pass
    cpu = time.process_time() - cpu0
    mark("build done")
    stop.set()
    thread.join()
    for t, what in EVENTS:
        print(f"{t:8.2f}  {what}")
    print(f"peak {at_peak[0] / 1024:.0f} MB at {at_peak[1]:.2f} s, running: {at_peak[2]}")
    print(f"ru_maxrss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; CPU {cpu:.1f} s")
    # a coarse profile: the max RSS per second
    per_s: dict[int, int] = {}
    for t, v in SAMPLES:
        per_s[int(t)] = max(per_s.get(int(t), 0), v)
    print(" ".join(f"{s}:{v // 1024}" for s, v in sorted(per_s.items())))


if __name__ == "__main__":
    main()
