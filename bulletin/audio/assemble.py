"""Assemble synthesized clips into one loudness-normalized MP3 bulletin (stage: assemble).

How, and why this way:

1. **Stream, never sum.** Each clip is decoded (see :func:`bulletin.audio.ffmpeg.decode_many`:
   WAV in-process, MP3 a batch of clips per ffmpeg process, two batches at a time), its
   leading/trailing silence trimmed, and its samples appended, with the pause that the
   chunk's ``pause_after`` calls for, to a raw 16-bit PCM file in a temporary directory.
   Summing pydub segments copies the whole bulletin once per chunk (quadratic); this keeps
   memory flat: a 60-minute, 1,000-chunk bulletin peaks well under 600 MB RSS including
   ffmpeg (see ``bench/assemble_bench.py``), and needs ~175 MB of temporary disk.
2. **Measure, then normalize.** ffmpeg's ``ebur128`` meter (BS.1770, true peak) measures
   the raw file; the gain to the target loudness is applied with ``volume`` and, only when
   the peaks would then exceed the ceiling, ffmpeg's look-ahead ``alimiter`` holds them
   down (a 5 ms attack on the few loudest syllables; it does not pump speech). We use this
   instead of a ``loudnorm`` two-pass because loudnorm's first pass runs its dynamic
   processor at 192 kHz (43 s per hour of audio here, against 7 s), and because loudnorm
   silently switches from linear to dynamic mode whenever the true peak does not fit,
   which is the usual case for TTS speech at -16 LUFS.
3. **Encode once, then check the real file.** MP3 encoding loses some loudness (its
   low-pass removes high frequencies that K-weighting counts: 0.2-0.5 LU) and moves the
   true peak (+0.3..1 dB). So before the real encode, a one-minute excerpt is encoded and
   measured to learn the codec's loudness loss, which the gain then includes. The MP3
   (libmp3lame, mono, CBR, at the requested rate) is written in the same ffmpeg run as
   the gain, so audio is encoded once; then the encoded file itself is measured. If it
   misses (peak over the ceiling, or integrated loudness more than 0.3 LU off), gain and
   ceiling are corrected from that measurement and the file is re-encoded from the raw
   PCM, at most twice more. :class:`Assembly` reports what the final file measured.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from bulletin.audio.ffmpeg import (
    DEFAULT_RATE,
    Loudness,
    decode_many,
    measure_input,
    measure_loudness,
    run_ffmpeg,
)
from bulletin.audio.settings import EncodeOptions, Pauses
from bulletin.audio.timeline import Assembly, Placed
from bulletin.engines.base import Boundary, Clip
from bulletin.errors import AudioError
from bulletin.text.chunk import Chunk

# Silence trimming: analysis window, threshold relative to the clip's loudest window (with
# an absolute floor so a near-silent clip is not "all speech"), and how much of the
# silence around the speech to keep so soft onsets and decays are not clipped.
_TRIM_WINDOW = 0.005  # s
_TRIM_RELATIVE_DB = -45.0
_TRIM_FLOOR_DBFS = -70.0
_KEEP_LEAD = 0.015  # s
_KEEP_TAIL = 0.030  # s
_FADE = 0.003  # s, removes a click where a cut lands on a non-zero sample

# Normalization: the first limiter ceiling sits this far under the true-peak target to
# leave room for the sample-peak limiter's inter-sample overshoot and for MP3 encoding.
_TP_HEADROOM = 1.5  # dB
_LOUDNESS_TOLERANCE = 0.3  # LU; re-encode if the final file is further off (MP3 loses 0.2-0.5 LU)
_MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class _Trim:
    start: int  # first sample kept
    end: int  # one past the last sample kept
    speech_start: int
    speech_end: int


def trim_bounds(pcm: np.ndarray, sample_rate: int) -> _Trim | None:
    """Find the speech in a clip: None when the whole clip is silence.

    Works on short windows' RMS against a threshold relative to the clip's loudest window,
    so it is independent of the engine's output level and its noise floor.
    """
    win = max(1, int(sample_rate * _TRIM_WINDOW))
    n = pcm.size // win
    if n == 0:
        return None
    frames = pcm[: n * win].astype(np.float32).reshape(n, win)
    rms = np.sqrt(np.mean(frames * frames, axis=1))
    loudest = float(rms.max())
    floor = 32768.0 * 10 ** (_TRIM_FLOOR_DBFS / 20)
    threshold = max(loudest * 10 ** (_TRIM_RELATIVE_DB / 20), floor)
    if loudest <= floor:
        return None
    loud = np.flatnonzero(rms > threshold)
    speech_start = int(loud[0]) * win
    speech_end = min(pcm.size, (int(loud[-1]) + 1) * win)
    start = max(0, speech_start - int(_KEEP_LEAD * sample_rate))
    end = min(pcm.size, speech_end + int(_KEEP_TAIL * sample_rate))
    return _Trim(start, end, speech_start, speech_end)


def _faded(pcm: np.ndarray, sample_rate: int) -> np.ndarray:
    """A copy of ``pcm`` with a few-ms linear fade at both ends (no click at a cut)."""
    n = min(int(_FADE * sample_rate), pcm.size // 2)
    if n < 2:
        return pcm
    out = pcm.astype(np.float32)
    ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)
    out[:n] *= ramp
    out[-n:] *= ramp[::-1]
    return np.round(out).astype("<i2")


def _shift_boundaries(clip: Clip, shift: float, lo: float, hi: float) -> tuple[Boundary, ...]:
    out = []
    for b in clip.boundaries:
        start = min(max(b.offset + shift, lo), hi)
        end = min(max(b.offset + b.duration + shift, start), hi)
        out.append(Boundary(kind=b.kind, text=b.text, offset=start, duration=end - start))
    return tuple(out)


def _write_pcm(
    chunks: Sequence[Chunk], clips: Sequence[Clip], raw: Path, pauses: Pauses, rate: int
) -> tuple[int, list[Placed]]:
    """Decode, trim and append every clip with its pause to ``raw``; return (samples, timeline)."""
    timeline: list[Placed] = []
    pos = 0  # samples written so far
    pending = pauses.lead_in  # silence owed before the next speech
    kept_tail = 0  # samples of kept silence already written after the previous speech
    zeros = np.zeros(int(rate * 2), dtype="<i2")

    def silence(f: BinaryIO, samples: int) -> None:
        nonlocal pos
        while samples > 0:
            n = min(samples, zeros.size)
            f.write(zeros[:n].tobytes())
            samples -= n
            pos += n

    with raw.open("wb", buffering=1 << 20) as f:
        for i, pcm in enumerate(decode_many(clips, rate)):
            chunk, clip = chunks[i], clips[i]
            trim = trim_bounds(pcm, rate)
            if trim is None:  # nothing audible: keep its place, keep the larger pause owed
                timeline.append(Placed(chunk, pos / rate, pos / rate, ()))
                pending = max(pending, pauses.after(chunk.pause_after))
                continue
            kept_lead = trim.speech_start - trim.start
            silence(f, max(0, round(pending * rate) - kept_tail - kept_lead))
            written_start = pos
            f.write(_faded(pcm[trim.start : trim.end], rate).tobytes())
            pos += trim.end - trim.start
            start = (written_start + kept_lead) / rate
            end = (written_start + trim.speech_end - trim.start) / rate
            shift = (written_start - trim.start) / rate
            timeline.append(Placed(chunk, start, end, _shift_boundaries(clip, shift, start, end)))
            kept_tail = trim.end - trim.speech_end
            pending = pauses.after(chunk.pause_after)
        if len(timeline) != len(chunks):
            raise AudioError(f"decoded {len(timeline)} clips for {len(chunks)} chunks")
        silence(f, max(0, round(pauses.tail * rate) - kept_tail))
    return pos, timeline


def _limiter(ceiling_db: float, *, latency: bool) -> str:
    limit = min(1.0, max(0.0625, 10 ** (ceiling_db / 20)))
    # level=false: no automatic make-up gain (we set the gain ourselves);
    # latency=true: compensate the look-ahead delay so the timeline stays exact.
    spec = f"alimiter=limit={limit:.5f}:attack=5:release=80:level=false"
    return spec + (":latency=true" if latency else "")


def _raw_input(raw: Path, rate: int, *, start: float | None = None, length: float | None = None) -> list[str]:
    """ffmpeg input arguments for our temporary raw PCM (s16le mono), optionally an excerpt."""
    window = [] if start is None else ["-ss", f"{start:.3f}", "-t", f"{length:.3f}"]
    return ["-f", "s16le", "-ar", str(rate), "-ac", "1", *window, "-i", str(raw)]


def _mp3_output(options: EncodeOptions) -> list[str]:
    """ffmpeg output arguments for the bulletin's MP3: mono, the chosen rate and bitrate."""
    rate = str(options.sample_rate)
    return ["-ac", "1", "-ar", rate, "-c:a", "libmp3lame", "-b:a", f"{options.kbps}k", "-f", "mp3"]


def _encode(
    raw: Path, dest: Path, rate: int, options: EncodeOptions, gain_db: float, ceiling_db: float | None
) -> None:
    """Encode the raw PCM to ``dest`` as MP3 with the gain (and limiter) in one ffmpeg run."""
    filters = [f"volume={gain_db:.3f}dB"]
    if options.sample_rate != rate:
        filters.append(f"aresample={options.sample_rate}")

    def run(latency: bool) -> None:
        chain = filters + ([_limiter(ceiling_db, latency=latency)] if ceiling_db is not None else [])
        run_ffmpeg(
            [
                *("-v", "error", "-y"),
                *_raw_input(raw, rate),
                *("-af", ",".join(chain)),
                *("-map_metadata", "-1", "-id3v2_version", "0", "-write_id3v1", "0"),
                *_mp3_output(options),
                str(dest),
            ],
            what="encoding the MP3",
        )

    try:
        run(latency=True)
    except AudioError as exc:
        # ffmpeg < 5.1 has no alimiter latency option: accept its 5 ms delay instead.
        if ceiling_db is None or "latency" not in str(exc):
            raise
        run(latency=False)


def _codec_loss(raw: Path, rate: int, duration: float, options: EncodeOptions) -> float:
    """Loudness (LU) the MP3 encoding removes, measured on up to a minute from the middle.

    Returns 0 when the excerpt is too short or too quiet to measure reliably.
    """
    length = min(60.0, duration)
    if length < 3.0:
        return 0.0
    start = max(0.0, (duration - length) / 2)
    raw_in = _raw_input(raw, rate, start=start, length=length)
    with tempfile.TemporaryDirectory(prefix="bulletin-probe-") as tmp:
        excerpt = Path(tmp) / "excerpt.mp3"
        run_ffmpeg(
            ["-v", "error", "-y", *raw_in, *_mp3_output(options), str(excerpt)],
            what="encoding a test excerpt",
        )
        before = measure_input(raw_in, what="measuring a test excerpt")
        after = measure_loudness(excerpt)
    if before.integrated <= -69.0 or after.integrated <= -69.0:
        return 0.0
    return max(-2.0, min(2.0, before.integrated - after.integrated))


def assemble(
    chunks: Sequence[Chunk],
    clips: Sequence[Clip],
    dest: Path,
    *,
    pauses: Pauses = Pauses(),  # frozen: safe as a default
    options: EncodeOptions = EncodeOptions(),
    workdir: Path | None = None,
) -> Assembly:
    """Join ``clips`` (one per chunk, same order) into the MP3 ``dest``, normalized and encoded once.

    ``dest`` is written in place (the caller renames it into position). ``workdir`` is
    where the temporary raw PCM goes (default: the system temp dir; ~175 MB per hour).
    Raises :class:`AudioError` if a clip cannot be decoded, the result is silent, or
    ffmpeg fails; ``ValueError`` if ``chunks`` and ``clips`` differ in length (a bug).
    """
    if len(chunks) != len(clips):
        raise ValueError(f"{len(chunks)} chunks but {len(clips)} clips")
    if not chunks:
        raise AudioError("nothing to assemble: no chunks")
    dest = Path(dest)
    rate = DEFAULT_RATE
    with tempfile.TemporaryDirectory(prefix="bulletin-asm-", dir=workdir) as tmp:
        raw = Path(tmp) / "bulletin.raw"
        samples, timeline = _write_pcm(chunks, clips, raw, pauses, rate)
        duration = samples / rate
        if not options.normalize:
            _encode(raw, dest, rate, options, 0.0, None)
            return Assembly(duration, timeline, None)

        source = measure_input(_raw_input(raw, rate), what="measuring the bulletin's loudness")
        if not math.isfinite(source.integrated) or source.integrated <= -69.0:
            raise AudioError("the assembled bulletin is silent")
        gain = options.loudness - source.integrated + _codec_loss(raw, rate, duration, options)
        ceiling = options.true_peak - _TP_HEADROOM
        final: Loudness | None = None
        limited = False
        attempt = 0
        for attempt in range(1, _MAX_ATTEMPTS + 1):  # noqa: B007 - reported below
            limited = source.true_peak + gain > ceiling
            _encode(raw, dest, rate, options, gain, ceiling if limited else None)
            final = measure_loudness(dest)
            loud_ok = abs(final.integrated - options.loudness) <= _LOUDNESS_TOLERANCE
            peak_ok = final.true_peak <= options.true_peak
            if loud_ok and peak_ok:
                break
            if not loud_ok:
                gain += options.loudness - final.integrated
            if not peak_ok:
                ceiling -= final.true_peak - options.true_peak + 0.3
        assert final is not None
        on_target = (
            abs(final.integrated - options.loudness) <= _LOUDNESS_TOLERANCE
            and final.true_peak <= options.true_peak
        )
        return Assembly(duration, timeline, final, attempts=attempt, limited=limited, on_target=on_target)
