"""Real-time factor of the offline engine: one process vs. all cores (and threads, for the record).

Usage: python bench/offline_rtf.py [--chars 581] [--out /tmp/h-offline/FIGURES.md]

Takes the first 581 characters of examples/six-party-talks.txt (newlines removed;
digits are left as they are: the frontend reads stray digits one by one), packs
them into chunks of at most ``OfflineEngine.max_chunk_chars`` at sentence ends,
and times ``synthesize`` with ``workers=1`` and ``workers=<cores>``
(threads), each cold (interpreters loaded inside the timing) and warm, plus worker
processes for comparison. RTF = wall time / seconds of audio; below 1 is faster
than real time.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import re
import sys
import time
import wave
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from bulletin.engines.base import VoiceSettings  # noqa: E402
from bulletin.engines.offline.baker import store as models  # noqa: E402
from bulletin.engines.offline.engine import OfflineEngine, _available_cpus  # noqa: E402

VOICE = VoiceSettings(engine="offline", voice="baker")


def chunks(text: str, limit: int) -> list[str]:
    """Sentences packed greedily into chunks of at most ``limit`` characters."""
    sentences = [s for s in re.split(r"(?<=[。！？；])", text) if s]
    out: list[str] = []
    for sentence in sentences:
        while len(sentence) > limit:  # a sentence longer than a chunk: cut at a comma or hard
            cut = sentence.rfind("，", 0, limit) + 1 or limit
            out.append(sentence[:cut])
            sentence = sentence[cut:]
        if out and len(out[-1]) + len(sentence) <= limit:
            out[-1] += sentence
        else:
            out.append(sentence)
    return out


def audio_seconds(wav: bytes) -> float:
    with wave.open(io.BytesIO(wav)) as reader:
        return reader.getnframes() / reader.getframerate()


def run_engine(engine: OfflineEngine, texts: list[str]) -> tuple[float, float]:
    start = time.perf_counter()
    clips = engine.synthesize(texts, VOICE)
    return time.perf_counter() - start, sum(audio_seconds(c.data) for c in clips)


def run_processes(texts: list[str], processes: int) -> tuple[float, float]:
    """The alternative we did not choose: worker processes (spawned, model loaded in each)."""
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        start = time.perf_counter()
        parts = list(pool.map(_speak_in_process, [texts[n::processes] for n in range(processes)]))
    return time.perf_counter() - start, sum(parts)


def _speak_in_process(texts: list[str]) -> float:
    engine = OfflineEngine(workers=1)
    return sum(audio_seconds(c.data) for c in engine.synthesize(texts, VOICE))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=581)
    parser.add_argument("--out", type=Path, default=Path("/tmp/h-offline/FIGURES.md"))
    args = parser.parse_args()

    source = (ROOT / "examples" / "six-party-talks.txt").read_text(encoding="utf-8")
    text = source.replace("\r", "").replace("\n", "")[: args.chars]
    texts = chunks(text, OfflineEngine.max_chunk_chars)
    models.ensure_model()
    models.patched_acoustic_model()
    cores = _available_cpus()

    OfflineEngine(workers=1).synthesize(["暖身。"], VOICE)  # page in the model files once
    rows = []
    single, parallel = OfflineEngine(workers=1), OfflineEngine(workers=cores)
    for label, (wall, audio) in (
        ("1 thread, first batch (model load included)", run_engine(single, texts)),
        ("1 thread, warm", run_engine(single, texts)),
        (f"{cores} threads, first batch (model load included)", run_engine(parallel, texts)),
        (f"{cores} threads, warm", run_engine(parallel, texts)),
        (f"{cores} spawned processes (not used; start-up included)", run_processes(texts, cores)),
    ):
        rows.append((label, wall, audio, wall / audio))
        print(f"{label:48s} wall {wall:6.2f} s  audio {audio:6.1f} s  RTF {wall / audio:.3f}")

    lines = [
        "# Offline engine real-time factor",
        "",
        f"Input: first {len(text)} characters of examples/six-party-talks.txt, {len(texts)} chunks "
        f"(max_chunk_chars={OfflineEngine.max_chunk_chars}). Machine: {cores} usable cores "
        f"({os.cpu_count()} online), shared with other work; numbers vary by ~10%.",
        "",
        "| run | wall s | audio s | RTF |",
        "| --- | ---: | ---: | ---: |",
        *[f"| {label} | {wall:.2f} | {audio:.1f} | {rtf:.3f} |" for label, wall, audio, rtf in rows],
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
