"""Assemble synthesized clips into one loudness-normalized MP3 bulletin (stage: assemble).

How, and why this way:

1. **Stream, never sum.** ``clips`` may be a generator: it is read lazily, a few batches
   ahead. Each clip is decoded (see :func:`bulletin.audio.ffmpeg.decode_many`:
   WAV in-process, MP3 a batch of clips per ffmpeg process, two batches at a time), its
   leading/trailing silence trimmed, and its samples appended, with the pause that the
   chunk's ``pause_after`` calls for, to a raw 16-bit PCM file in a temporary directory.
   Summing pydub segments copies the whole bulletin once per chunk (quadratic); this keeps
   memory flat: a 60-minute, 1,000-chunk bulletin peaks well under 600 MB RSS including
   ffmpeg (see ``bench/assemble_bench.py``), and needs ~175 MB of temporary disk.
2. **Measure while writing.** Everything written to the raw file is also fed to an
   in-process BS.1770 meter (:mod:`bulletin.audio.loudness`: K-weighting by FFT, gating,
   true peak), so the loudness is known when the file is complete. Before, a separate
   ffmpeg ``ebur128`` pass (true peak at 192 kHz) did this, plus two more for the codec
   check: on the 2-minute sample these passes cost more than the encode itself.
3. **Normalize, limiting only when needed, and know the result before encoding.** The gain
   to the target is applied with ffmpeg's ``volume`` when the peaks fit under the ceiling
   (true-peak target minus 1.5 dB headroom for MP3 overshoot). When they do not (always, for
   the peaky offline voice), our numpy look-ahead limiter feeds the encoder the gained,
   limited samples, and the gain makes up for the loudness the limiter takes (0.1-0.5 LU),
   so that is known before encoding instead of discovered after it (which used to cost a
   second encode). MP3 encoding loses 0.2-0.5 LU too. Both losses are learned on the
   bulletin's first 20 s, encoded, decoded and limited at a few gains in a background
   thread while the rest is still being synthesized (:class:`_CodecProbe`); when limiting
   is heavy, one pass of the limiter over the whole bulletin measures it instead.
   We do not use ``loudnorm``: its first pass runs a 192 kHz dynamic processor, and it
   silently switches to dynamic mode whenever the true peak does not fit.
4. **Encode once, check the real file in the same pass.** The MP3 (libmp3lame, mono, CBR,
   at the requested rate) is written by one ffmpeg whose frames are also piped into a
   second ffmpeg that decodes them for the meter, on the other core, so the encoded file's
   loudness and true peak are measured as it is written. If it misses (peak over the
   ceiling, or integrated loudness more than 0.3 LU off), gain and ceiling are corrected
   from that measurement and the file is re-encoded, at most twice more.
   :class:`Assembly` reports what the final file measured.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Sequence, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from bulletin.audio.ffmpeg import DEFAULT_RATE, Loudness, decode_many, encode_and_decode, run_ffmpeg
from bulletin.audio.loudness import Meter, limited_blocks
from bulletin.audio.settings import EncodeOptions, Pauses
from bulletin.audio.timeline import Assembly, Placed
from bulletin.engines.base import Boundary, Clip
from bulletin.errors import AudioError
from bulletin.files import temp_dir
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
_PROBE_SECONDS = 20.0  # excerpt encoded to learn the codec's loudness loss
_SECANT_FROM = 0.5  # LU: a limited gain step larger than this is measured once more (_fit_limited_gain)
_SECANT_SLOPE = 0.2  # LU per dB: a flatter measured slope is taken as this (the step stays bounded)
_PREDICTED_LIMITING = 0.6  # LU: up to this, the excerpt predicts the limiter's loss well enough


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


def faded(pcm: np.ndarray, sample_rate: int) -> np.ndarray:
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
    chunks: Sequence[Chunk],
    clips: Iterable[Clip],
    raw: Path,
    pauses: Pauses,
    rate: int,
    sinks: Sequence[Callable[[np.ndarray], None]] = (),
) -> tuple[int, list[Placed]]:
    """Decode, trim and append every clip with its pause to ``raw``; return (samples, timeline).

    ``clips`` is consumed lazily (see :func:`decode_many`); everything written is also fed
    to the ``sinks`` (the meter, the codec probe), so the bulletin's loudness is known when
    the file is complete, with no second pass over it.
    """
    timeline: list[Placed] = []
    pos = 0  # samples written so far
    pending = pauses.lead_in  # silence owed before the next speech
    kept_tail = 0  # samples of kept silence already written after the previous speech
    zeros = np.zeros(int(rate * 2), dtype="<i2")

    def write(f: BinaryIO, pcm: np.ndarray) -> None:
        nonlocal pos
        f.write(pcm.tobytes())
        for sink in sinks:
            sink(pcm)
        pos += pcm.size

    def silence(f: BinaryIO, samples: int) -> None:
        while samples > 0:
            n = min(samples, zeros.size)
            write(f, zeros[:n])
            samples -= n

    with raw.open("wb", buffering=1 << 20) as f:
        for i, (clip, pcm) in enumerate(decode_many(clips, rate)):
            if i >= len(chunks):
                raise ValueError(f"more clips than the {len(chunks)} chunks")
            chunk = chunks[i]
            trim = trim_bounds(pcm, rate)
            if trim is None:  # nothing audible: keep its place, keep the larger pause owed
                timeline.append(Placed(chunk, pos / rate, pos / rate, ()))
                pending = max(pending, pauses.after(chunk.pause_after))
                continue
            kept_lead = trim.speech_start - trim.start
            silence(f, max(0, round(pending * rate) - kept_tail - kept_lead))
            written_start = pos
            write(f, faded(pcm[trim.start : trim.end], rate))
            start = (written_start + kept_lead) / rate
            end = (written_start + trim.speech_end - trim.start) / rate
            shift = (written_start - trim.start) / rate
            timeline.append(Placed(chunk, start, end, _shift_boundaries(clip, shift, start, end)))
            kept_tail = trim.end - trim.speech_end
            pending = pauses.after(chunk.pause_after)
        if len(timeline) != len(chunks):
            raise ValueError(f"{len(chunks)} chunks but {len(timeline)} clips")
        silence(f, max(0, round(pauses.tail * rate) - kept_tail))
    return pos, timeline


def _raw_input(raw: Path, rate: int) -> list[str]:
    """ffmpeg input arguments for our temporary raw PCM (s16le mono)."""
    return ["-f", "s16le", "-ar", str(rate), "-ac", "1", "-i", str(raw)]


def _mp3_output(options: EncodeOptions) -> list[str]:
    """ffmpeg output arguments for the bulletin's MP3: mono, the chosen rate and bitrate."""
    rate = str(options.sample_rate)
    return ["-ac", "1", "-ar", rate, "-c:a", "libmp3lame", "-b:a", f"{options.kbps}k"]


def _encode(
    raw: Path, dest: Path, rate: int, options: EncodeOptions, gain_db: float, ceiling_db: float | None
) -> Loudness:
    """Encode the raw PCM to ``dest`` with ``gain_db`` (and our limiter at ``ceiling_db``); measure ``dest``.

    Without a ceiling ffmpeg applies the gain; with one, :func:`limited_blocks` feeds the
    gained, limited samples to the encoder's stdin as it encodes, so limiting costs no pass
    of its own. The encoded frames are decoded and metered during the encode, on the
    other core (:func:`encode_and_decode`).
    """
    meter = Meter(options.sample_rate)
    if ceiling_db is None:
        encode_and_decode(
            [*_raw_input(raw, rate), "-af", f"volume={gain_db:.3f}dB", *_mp3_output(options)],
            [],
            dest,
            feed=None,
            sample_rate=options.sample_rate,
            on_decoded=meter.add,
        )
        return meter.result()
    pcm = np.memmap(raw, dtype="<i2", mode="r")
    try:
        encode_and_decode(
            ["-f", "f32le", "-ar", str(rate), "-ac", "1", "-i", "pipe:0", *_mp3_output(options)],
            [],
            dest,
            feed=limited_blocks(pcm, rate, gain_db, ceiling_db),
            sample_rate=options.sample_rate,
            on_decoded=meter.add,
        )
    finally:
        del pcm
    return meter.result()


def _fit_limited_gain(raw: Path, rate: int, gain: float, ceiling: float, want: Callable[[], float]) -> float:
    """The gain at which the limited bulletin should measure ``want()`` LUFS, found before encoding.

    Limiting lowers the loudness (0.1-0.5 LU on TTS), by an amount that depends on the
    gain. One pass of our own limiter into the meter (numpy, block by block, nothing
    written) measures that loss at the first guess, and the gain makes up for it. Under
    heavy limiting (a step over :data:`_SECANT_FROM`: Kokoro's peaks need ~10 dB of gain
    under the ceiling) the limiter takes back about half of every extra dB, so that step
    landed ~0.9 LU short and every such bulletin was encoded twice; one more pass at the
    stepped gain measures the slope, and a secant step makes up for it. A rare miss is
    still corrected by another encode. ``want`` is called after the first pass, so the
    codec probe can finish meanwhile.
    """
    got = _limited_loudness(raw, rate, gain, ceiling)
    if not math.isfinite(got):
        return gain
    target = want()
    step = target - got
    if abs(step) <= _SECANT_FROM:
        return gain + step
    then = _limited_loudness(raw, rate, gain + step, ceiling)
    if not math.isfinite(then):
        return gain + step
    slope = min(1.0, max(_SECANT_SLOPE, (then - got) / step))  # LU per dB
    return gain + step + (target - then) / slope


def _limited_loudness(raw: Path, rate: int, gain: float, ceiling: float) -> float:
    """The integrated loudness of ``raw`` at ``gain`` through our limiter (no true peak: faster)."""
    pcm = np.memmap(raw, dtype="<i2", mode="r")
    try:
        meter = Meter(rate, true_peak=False)
        for block in limited_blocks(pcm, rate, gain, ceiling):
            meter.add(block)
        return meter.result().integrated
    finally:
        del pcm


class _CodecProbe:
    """Learns the MP3 encoder's loudness loss on an excerpt, in a background thread.

    MP3 at speech bitrates loses 0.2-0.5 LU (mostly a small level drop below 2 kHz, which
    no low-pass model predicts), depending on the voice. The first ``_PROBE_SECONDS`` of
    the bulletin are collected as they are written (:meth:`add`) and encoded and decoded
    at once, while the rest is still being synthesized; a bulletin shorter than that is
    probed when it is complete (:meth:`result`).
    """

    def __init__(self, rate: int, options: EncodeOptions, ceiling: float) -> None:
        self.loss = 0.0
        #: (gain dB, loudness the limiter takes away at that gain, LU), a few points around
        #: the gain the excerpt itself would need; empty when there was nothing to probe.
        self.limiting: list[tuple[float, float]] = []
        self._rate, self._options, self._ceiling = rate, options, ceiling
        self._want = int(_PROBE_SECONDS * rate)
        self._parts: list[np.ndarray] = []
        self._have = 0
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def add(self, samples: np.ndarray) -> None:
        if self._thread is not None or self._have >= self._want:
            return
        self._parts.append(samples.copy())
        self._have += samples.size
        if self._have >= self._want:
            self._start()

    def _start(self) -> None:
        pcm = np.concatenate(self._parts)[: self._want] if self._parts else np.zeros(0, "<i2")
        self._parts = []
        if pcm.size < 3 * self._rate:
            return
        self._thread = threading.Thread(target=self._run, args=(pcm,), name="bulletin-probe", daemon=True)
        self._thread.start()

    def _run(self, pcm: np.ndarray) -> None:
        try:
            before = Meter(self._rate, true_peak=False)
            before.add(pcm)
            after = Meter(self._options.sample_rate, true_peak=False)
            with temp_dir("probe") as tmp:
                args = ["-f", "f32le", "-ar", str(self._rate), "-ac", "1", "-i", "pipe:0"]
                encode_and_decode(
                    [*args, *_mp3_output(self._options)],
                    [],
                    Path(tmp) / "probe.mp3",
                    feed=[pcm.astype(np.float32) / 32768.0],
                    sample_rate=self._options.sample_rate,
                    on_decoded=after.add,
                    what="encoding a test excerpt",
                )
            b, a = before.result().integrated, after.result().integrated
            if math.isfinite(b) and math.isfinite(a) and b > -69.0 and a > -69.0:
                self.loss = max(-2.0, min(2.0, b - a))
                self.limiting = self._limiting(pcm, self._options.loudness + self.loss - b)
        except BaseException as exc:
            self._error = exc

    def _limiting(self, pcm: np.ndarray, gain: float) -> list[tuple[float, float]]:
        """What our limiter takes from the excerpt's loudness at ``gain`` and 1.5 dB either side."""
        curve = []
        plain = Meter(self._rate, true_peak=False)
        plain.add(pcm)
        unlimited = plain.result().integrated
        for g in (gain - 1.5, gain, gain + 1.5):
            meter = Meter(self._rate, true_peak=False)
            for block in limited_blocks(pcm, self._rate, g, self._ceiling):
                meter.add(block)
            curve.append((g, unlimited + g - meter.result().integrated))
        return curve

    def limiter_loss(self, gain: float) -> float | None:
        """The limiter's loudness loss at ``gain`` as the excerpt showed it; None if unknown."""
        if len(self.limiting) < 3:
            return None
        gains, losses = zip(*self.limiting, strict=True)
        return float(np.interp(gain, gains, losses))

    def result(self) -> float:
        """The loss in LU (0 when the bulletin is too short or quiet to probe)."""
        if self._thread is None:
            self._start()
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error
        return self.loss


def assemble(
    chunks: Sequence[Chunk],
    clips: Iterable[Clip],
    dest: Path,
    *,
    pauses: Pauses = Pauses(),  # frozen: safe as a default
    options: EncodeOptions = EncodeOptions(),
    workdir: Path | None = None,
) -> Assembly:
    """Join ``clips`` (one per chunk, same order) into the MP3 ``dest``, normalized and encoded once.

    ``clips`` may be a list or any iterable (a generator yielding clips as the engine makes
    them): it is read lazily with a bounded look-ahead, so memory does not grow with the
    number of chunks. ``dest`` is written in place (the caller renames it into position).
    ``workdir`` is where the temporary raw PCM goes (default: the system temp dir; ~175 MB
    per hour). Raises :class:`AudioError` if a clip cannot be decoded, the result is
    silent, or ffmpeg fails; ``ValueError`` if ``chunks`` and ``clips`` differ in length
    (a bug).
    """
    if isinstance(clips, Sized) and len(chunks) != len(clips):
        raise ValueError(f"{len(chunks)} chunks but {len(clips)} clips")
    if not chunks:
        raise AudioError("nothing to assemble: no chunks")
    dest = Path(dest)
    rate = DEFAULT_RATE
    with temp_dir("asm", workdir) as tmp:
        raw = Path(tmp) / "bulletin.raw"
        sinks = Sinks(rate, options)
        samples, timeline = _write_pcm(chunks, clips, raw, pauses, rate, sinks.feeds)
        return normalize_and_encode(raw, rate, samples / rate, timeline, sinks, dest, options)


class Sinks:
    """The meter and the codec probe that everything written to the raw PCM is fed to.

    Made before the PCM is written so the bulletin's loudness is known the moment the
    file is complete (see the module docstring, points 2 and 3).
    """

    def __init__(self, rate: int, options: EncodeOptions) -> None:
        self.meter = Meter(rate) if options.normalize else None
        self.probe = _CodecProbe(rate, options, options.true_peak - _TP_HEADROOM)

    @property
    def feeds(self) -> tuple[Callable[[np.ndarray], None], ...]:
        return (self.meter.add, self.probe.add) if self.meter is not None else ()


def normalize_and_encode(
    raw: Path,
    rate: int,
    duration: float,
    timeline: list[Placed],
    sinks: Sinks,
    dest: Path,
    options: EncodeOptions,
) -> Assembly:
    """Encode the finished raw PCM to ``dest`` at the target loudness (points 3 and 4 above).

    ``sinks`` must have been fed every sample of ``raw``. The returned :class:`Assembly`
    carries ``timeline`` and what the encoded file measured.
    """
    meter, probe = sinks.meter, sinks.probe
    if meter is None:  # a draft: encode as it is, nothing to measure
        run_ffmpeg(
            ["-v", "error", "-y", *_raw_input(raw, rate), *_mp3_output(options), "-f", "mp3", str(dest)]
        )
        return Assembly(duration, timeline, None)
    source = meter.result()
    if not math.isfinite(source.integrated) or source.integrated <= -69.0:
        raise AudioError("the assembled bulletin is silent")
    ceiling = options.true_peak - _TP_HEADROOM
    gain = options.loudness - source.integrated
    limited = source.true_peak + gain > ceiling
    want = options.loudness  # what the PCM must measure before encoding (target + codec loss)

    def want_with_loss() -> float:
        nonlocal want
        want = options.loudness + probe.result()
        return want

    gain += want_with_loss() - options.loudness
    if limited:
        # what the limiter will take: from the excerpt (learned while synthesis went on),
        # else, or when limiting is heavy and so less predictable, by one pass over it all
        loss = probe.limiter_loss(gain)
        if loss is not None and loss <= _PREDICTED_LIMITING:
            gain += probe.limiter_loss(gain + loss) or 0.0
        else:
            gain = _fit_limited_gain(raw, rate, gain - (want - options.loudness), ceiling, lambda: want)
    final: Loudness | None = None
    attempt = 0
    for attempt in range(1, _MAX_ATTEMPTS + 1):
        final = _encode(raw, dest, rate, options, gain, ceiling if limited else None)
        loud_ok = abs(final.integrated - options.loudness) <= _LOUDNESS_TOLERANCE
        peak_ok = final.true_peak <= options.true_peak
        if (loud_ok and peak_ok) or attempt == _MAX_ATTEMPTS:
            break
        # rare: the probe misjudged the codec, or the MP3 overshoots the peak ceiling
        if not loud_ok:
            want += options.loudness - final.integrated
            gain += options.loudness - final.integrated
        if not peak_ok:
            ceiling -= final.true_peak - options.true_peak + 0.3
        if limited or source.true_peak + gain > ceiling:
            limited = True
            gain = _fit_limited_gain(raw, rate, gain, ceiling, lambda w=want: w)
    assert final is not None
    on_target = (
        abs(final.integrated - options.loudness) <= _LOUDNESS_TOLERANCE
        and final.true_peak <= options.true_peak
    )
    return Assembly(duration, timeline, final, attempts=attempt, limited=limited, on_target=on_target)
