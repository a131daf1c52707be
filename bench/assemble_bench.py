"""Benchmark: assemble a 60-minute, 1,000-chunk bulletin; report time and peak memory.

Clips are made like Edge's (MP3, 24 kHz mono 48 kbps, 3.6 s each incl. silence), so
the figures cover decoding, trimming, streaming to disk, measuring, one encode and the
check of the encoded file. Peak RSS is ``ru_maxrss`` of this process and, separately,
of its largest child (ffmpeg); the sum bounds the whole run. Writes the figures to
``/tmp/h-asm/FIGURES.md`` (override with ``--out``).

    python bench/assemble_bench.py [--chunks 1000] [--seconds 3.6] [--stream]

``--stream`` hands ``assemble`` a generator that makes each clip's bytes only when asked
(as an engine streaming its output would), so the clips are never all in memory.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import lameenc
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, uninstalled

from bulletin.audio.assemble import assemble
from bulletin.engines.base import Boundary, Clip
from bulletin.text.chunk import Chunk

SR = 24000


def edge_like_clip(seconds: float, seed: int) -> Clip:
    """Speech-like audio with 0.15 s / 0.25 s of silence, MP3 as Edge sends it."""
    rng = np.random.default_rng(seed)
    lead, tail = 0.15, 0.25
    t = np.arange(int((seconds - lead - tail) * SR)) / SR
    voiced = sum(np.sin(2 * np.pi * (150 + seed % 60) * k * t) / k for k in range(1, 6))
    x = (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t) ** 2) * (0.5 * voiced + 0.3 * rng.standard_normal(t.size))
    x = np.concatenate([np.zeros(int(lead * SR)), 0.15 * x, np.zeros(int(tail * SR))])
    enc = lameenc.Encoder()
    enc.set_bit_rate(48)
    enc.set_in_sample_rate(SR)
    enc.set_channels(1)
    enc.set_quality(7)
    data = bytes(enc.encode((x * 32767).astype(np.int16).tobytes()) + enc.flush())
    return Clip(data, "mp3", (Boundary("sentence", "x", lead, seconds - lead - tail),))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunks", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=3.6)
    ap.add_argument("--out", default="/tmp/h-asm/FIGURES.md")
    ap.add_argument("--stream", action="store_true", help="clips from a generator, made on demand")
    args = ap.parse_args()

    kinds = ["clause", "sentence", "sentence", "paragraph", "sentence", "sentence", "sentence", "story"]
    chunks = [
        Chunk(i, "文本", "文本", i // 40, (i // 8) % 5, i, kinds[i % len(kinds)])  # type: ignore[arg-type]
        for i in range(args.chunks)
    ]
    chunks[-1] = Chunk(args.chunks - 1, "文本", "文本", chunks[-1].story, 0, args.chunks - 1, "end")
    t0 = time.perf_counter()
    distinct = [edge_like_clip(args.seconds, seed) for seed in range(50)]

    # distinct byte strings, as a real run holds (no sharing flattering the memory figure)
    def make(i: int) -> Clip:
        return Clip(bytes(bytearray(distinct[i % 50].data)), "mp3", distinct[i % 50].boundaries)

    clips: Iterable[Clip] = (
        (make(i) for i in range(args.chunks)) if args.stream else [make(i) for i in range(args.chunks)]
    )
    clip_mb = sum(len(make(i).data) for i in range(args.chunks)) / 1e6
    made = time.perf_counter() - t0
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    with tempfile.TemporaryDirectory() as tmp:
        dest = Path(tmp) / "bench.mp3"
        t0 = time.perf_counter()
        asm = assemble(chunks, clips, dest)
        took = time.perf_counter() - t0
        size = dest.stat().st_size
    self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    loud = asm.loudness
    assert loud is not None
    how = "streamed from a generator" if args.stream else "held in a list"
    lines = [
        "# Assembly benchmark",
        "",
        f"- chunks: {args.chunks} MP3 clips of {args.seconds} s (48 kbps, 24 kHz mono), "
        f"clip bytes: {clip_mb:.1f} MB, {how} (made in {made:.1f} s)",
        f"- bulletin: {asm.duration / 60:.1f} min, {size / 1e6:.1f} MB MP3 at 64k",
        f"- assembly wall time: **{took:.1f} s** ({asm.attempts} encode(s), limiter engaged: {asm.limited})",
        f"- peak RSS, python process: **{self_mb:.0f} MB** (before assembly: {rss_before:.0f} MB)",
        f"- peak RSS, largest child (ffmpeg): **{child_mb:.0f} MB**; sum: {self_mb + child_mb:.0f} MB",
        f"- final file: {loud.integrated:.1f} LUFS integrated, {loud.true_peak:.1f} dBTP true peak, "
        f"LRA {loud.lra:.1f} LU",
        f"- machine: {sys.platform}, python {sys.version.split()[0]}",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
