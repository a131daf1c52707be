"""Benchmark: where assembly's time goes on the 2-minute sample, and assembly / synthesis.

Synthesizes ``examples/six-party-talks.txt`` once with the offline engine (timed: that is
the denominator), keeps the clips as WAV files in a temp folder, then assembles them
``--runs`` times and reports, per step, the best time over the runs: decode+trim+write
(with the in-process loudness meter), fitting the limiter gain, the codec probe
(background thread: overlaps the gain fit), and the encode (which also decodes and
meters the encoded MP3 on the other core). Also reports ffmpeg's own ``ebur128`` and
pyloudnorm on the final file, as an independent check of the in-process meter.

    python bench/assemble_speed.py [--runs 5]

Not a test: nothing asserts a time. The machine is shared: compare the ratios.
"""

from __future__ import annotations

import argparse
import collections
import io
import sys
import tempfile
import time
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

import bulletin.audio.assemble as asm  # noqa: E402
from bulletin.audio.ffmpeg import measure_loudness  # noqa: E402
from bulletin.engines.base import Clip, VoiceSettings  # noqa: E402
from bulletin.engines.offline import OfflineEngine  # noqa: E402
from bulletin.text.pipeline import plan, prepare  # noqa: E402

STEPS = {  # module attribute -> label
    "_write_pcm": "decode + trim + write + meter",
    "trim_bounds": "  of which trim_bounds",
    "_fit_limited_gain": "fit limiter gain (numpy)",
    "_encode": "encode + decode + meter MP3",
}


def timed(times: dict[str, float], name: str) -> None:
    """Replace ``asm.<name>`` with a wrapper adding its wall time to ``times[name]``."""
    inner: Callable[..., Any] = getattr(asm, name)

    def wrapper(*args: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return inner(*args, **kw)
        finally:
            times[name] += time.perf_counter() - t0

    setattr(asm, name, wrapper)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()

    clean = prepare([ROOT / "examples" / "six-party-talks.txt"])
    engine = OfflineEngine()
    chunks = plan(clean, engine.max_chunk_chars)
    voice = VoiceSettings("offline", "baker")
    engine.synthesize([chunks[0].spoken], voice)  # load the model outside the timing
    t0 = time.perf_counter()
    clips = engine.synthesize([c.spoken for c in chunks], voice)
    synth = time.perf_counter() - t0
    seconds = 0.0
    for clip in clips:
        with wave.open(io.BytesIO(clip.data)) as w:
            seconds += w.getnframes() / w.getframerate()

    times: dict[str, float] = collections.defaultdict(float)
    for name in STEPS:
        timed(times, name)
    best: dict[str, float] = {}
    totals: list[float] = []
    with tempfile.TemporaryDirectory(prefix="asm-speed-") as tmp:
        folder = Path(tmp)
        for i, clip in enumerate(clips):  # as the cache holds them: files, read back per run
            (folder / f"{i}.wav").write_bytes(clip.data)
        dest = folder / "out.mp3"
        for _ in range(args.runs):
            times.clear()
            t0 = time.perf_counter()
            from_disk = (Clip((folder / f"{i}.wav").read_bytes(), "wav") for i in range(len(chunks)))
            result = asm.assemble(chunks, from_disk, dest)
            total = time.perf_counter() - t0
            totals.append(total)
            for name in STEPS:
                best[name] = min(best.get(name, total), times[name])
        ffmpeg = measure_loudness(dest)
        decoded = asm_decode(dest)

    import pyloudnorm

    loud = result.loudness
    assert loud is not None
    total = min(totals)
    rest = total - best["_write_pcm"] - best["_fit_limited_gain"] - best["_encode"]
    print(f"sample: {len(chunks)} chunks, {seconds:.1f} s of speech; synthesis {synth:.2f} s (offline, warm)")
    print(f"assembly, best of {args.runs}: {total:.3f} s (median {sorted(totals)[len(totals) // 2]:.3f} s)")
    for name, label in STEPS.items():
        print(f"  {label:34s} {best[name] * 1000:7.0f} ms")
    print(f"  {'rest (probe wait, setup)':34s} {rest * 1000:7.0f} ms")
    median = sorted(totals)[len(totals) // 2]
    print(f"ratio assembly / synthesis: {total / synth:.1%} (median run {median / synth:.1%})")
    print(
        f"final file: ours {loud.integrated:.2f} LUFS, {loud.true_peak:.2f} dBTP "
        f"({result.attempts} encode(s), limited: {result.limited}); "
        f"ffmpeg ebur128 {ffmpeg.integrated:.1f} LUFS, {ffmpeg.true_peak:.1f} dBTP; "
        f"pyloudnorm {pyloudnorm.Meter(24000).integrated_loudness(decoded):.2f} LUFS"
    )
    return 0


def asm_decode(path: Path) -> np.ndarray:
    """The MP3 decoded by ffmpeg, as float samples (for pyloudnorm)."""
    from bulletin.audio.ffmpeg import run_ffmpeg

    out = run_ffmpeg(["-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-ar", "24000", "-"])
    return np.frombuffer(out, dtype="<i2").astype(np.float64) / 32768


if __name__ == "__main__":
    raise SystemExit(main())
