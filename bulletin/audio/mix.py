"""A programme's sound: speech, jingles, stings and a ducked bed, fitted to the slot (stage: mix).

A plain bulletin streams clips straight into the MP3 (:mod:`bulletin.audio.assemble`).
A programme cannot: to last exactly as long as its slot, the real length of every
chunk's speech must be known before anything is placed. So it goes in three steps:

1. :class:`Store` takes each chunk's clip as it arrives, decodes and trims it (as
   assembly does) and appends the speech to a raw file, remembering where it is and how
   long it really is. Nothing is held in memory but the offsets.
2. :func:`fit` lays the programme out (:class:`Section`\\ s: opener, headlines, stories,
   closer, with the sounds before and after them) and finds the pause scale (within
   :data:`PAUSE_RANGE`) and tempo (within :data:`TEMPO_RANGE`) that make it end
   :data:`SLOT_MARGIN` under the slot; or says it does not fit (the run then drops the
   last story and asks again), or by how much the news is short.
3. :func:`mix` writes it: speech and sounds in order, then the beds, each looped under
   its sections and ducked under the voice by the programme's amount with short ramps,
   where speech really is (not on a fixed curve). Everything written is fed to the
   loudness meter, and the whole mix is normalized and encoded once, as a bulletin is.

Sounds are levelled to the speech before mixing, so a producer's jingles sit right
beside any voice: jingles and stings :data:`SOUND_LEVEL` LU under the speech, the bed
:data:`BED_LEVEL` LU under it (plus the programme's ``bed_level``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from bulletin.audio.assemble import Sinks, faded, normalize_and_encode, trim_bounds
from bulletin.audio.ffmpeg import DEFAULT_RATE, decode_many, plain_file_input, run_ffmpeg
from bulletin.audio.loudness import Meter
from bulletin.audio.settings import EncodeOptions, Pauses
from bulletin.audio.timeline import Assembly, Fit, Placed, Span
from bulletin.engines.base import Boundary, Clip
from bulletin.errors import AudioError
from bulletin.text.chunk import Chunk

RATE = DEFAULT_RATE
#: Jingles and stings sit this many LU under the speech; the bed (not ducked) this many.
SOUND_LEVEL = -3.0
BED_LEVEL = -14.0
#: Seconds of bed alone before the speech it carries, its fade-in, and its fade-out
#: (after the last speech it carries, before the next part starts).
BED_LEAD = 1.2
BED_FADE_IN = 0.4
BED_FADE_OUT = 1.5
#: Ducking: how long before speech the bed starts to dip and after it comes back, how
#: long the ramps take, and gaps shorter than ``DUCK_HOLD`` stay ducked (no pumping
#: in the pause between two sentences).
DUCK_ATTACK = 0.12
DUCK_RELEASE = 0.25
DUCK_RAMP = 0.15
DUCK_HOLD = 0.9
#: Silence each side of a sting between two stories (a pause: it scales with the fit).
STING_GAP = 0.45
#: Between a part's speech and the sound after it (the closing jingle).
AFTER_GAP = 0.4
#: How far the fit may shrink or stretch every pause, and change the tempo of speech.
PAUSE_RANGE = (0.7, 1.5)
TEMPO_RANGE = (0.97, 1.03)
#: A fitted programme ends this far under its slot (an MP3 decoder may add a frame or two).
SLOT_MARGIN = 0.4
#: News this much shorter than the slot (after the pauses and tempo did what they may) is
#: "short": said, and filled by a closing bed if there is one, never by silence.
SHORT = 1.0
#: The longest jingle, bed or sting (a bed loops: it need not be long).
MAX_SOUND_SECONDS = 600
#: Silence between two pieces in the store, so a tempo change never smears one into the next.
_SEPARATION = int(0.1 * RATE)
_FRAME = int(0.01 * RATE)  # ducking works on 10 ms frames


@dataclass(frozen=True)
class Section:
    """One part of a programme: its chunks (indexes, in order) and the sounds around them.

    ``before`` plays before the speech (the opener's jingle, a sting before a story),
    ``after`` after it (the closing jingle); ``bed`` loops under the speech, and
    consecutive sections with the same bed share one bed that fades out after them.
    ``fill``: this section's bed may run on after its speech to fill a short programme.
    """

    kind: str
    title: str
    chunks: tuple[int, ...]
    before: Path | None = None
    after: Path | None = None
    bed: Path | None = None
    fill: bool = False


@dataclass(frozen=True)
class _Piece:
    offset: int  # first sample in the store
    length: int  # samples, kept silence included
    lead: int  # kept silence before the speech
    speech: int  # samples of speech
    boundaries: tuple[Boundary, ...]  # seconds from the piece's first sample


class Store:
    """Every chunk's trimmed speech, in a raw file, by chunk key (step 1 of the module docstring)."""

    def __init__(self, path: Path, meter: Meter | None = None) -> None:
        self.path = path
        self.path.touch()
        self._pieces: dict[str, _Piece] = {}
        self._size = 0
        self._meter = meter or Meter(RATE, true_peak=False)

    def __contains__(self, key: str) -> bool:
        return key in self._pieces

    def add(self, keys: Sequence[str], clips: Iterable[Clip]) -> None:
        """Decode, trim and keep the clips of ``keys`` (same order; ``clips`` is read lazily)."""
        with self.path.open("ab") as f:
            for key, (clip, pcm) in zip(keys, decode_many(clips, RATE), strict=True):
                trim = trim_bounds(pcm, RATE)
                if trim is None:  # nothing audible: it keeps its place and takes no time
                    self._pieces[key] = _Piece(self._size, 0, 0, 0, ())
                    continue
                kept = faded(pcm[trim.start : trim.end], RATE)
                self._meter.add(kept)
                shift = -trim.start / RATE
                span = (trim.end - trim.start) / RATE
                bounds = tuple(
                    replace(b, offset=min(max(b.offset + shift, 0.0), span), duration=max(0.0, b.duration))
                    for b in clip.boundaries
                )
                self._pieces[key] = _Piece(
                    self._size,
                    kept.size,
                    trim.speech_start - trim.start,
                    trim.speech_end - trim.speech_start,
                    bounds,
                )
                f.write(kept.tobytes())
                f.write(bytes(2 * _SEPARATION))
                self._size += kept.size + _SEPARATION

    def piece(self, key: str) -> _Piece:
        return self._pieces[key]

    def seconds(self, key: str) -> float:
        """How long a chunk's trimmed speech lasts (its kept silence included)."""
        return self._pieces[key].length / RATE

    def loudness(self) -> float:
        """The speech's integrated loudness (LUFS), the level sounds are set against."""
        value = self._meter.result().integrated
        return value if math.isfinite(value) and value > -69.0 else -23.0

    def at_tempo(self, tempo: float, folder: Path) -> Store:
        """A copy of the store with all speech played ``tempo`` times as fast (ffmpeg's atempo).

        One ffmpeg pass over the whole store; every offset scales by ``1 / tempo``, and the
        silence between pieces keeps each cut clean.
        """
        if tempo == 1.0:
            return self
        out = Store(folder / f"speech-{tempo:.4f}.raw", self._meter)
        raw = ["-f", "s16le", "-ar", str(RATE), "-ac", "1"]
        run_ffmpeg(
            [
                "-v",
                "error",
                "-y",
                *raw,
                "-i",
                str(self.path),
                "-af",
                f"atempo={tempo:.5f}",
                *raw,
                str(out.path),
            ],
            what="changing the tempo",
        )
        size = out.path.stat().st_size // 2
        for key, p in self._pieces.items():
            offset = min(size, round(p.offset / tempo))
            scaled = tuple(
                replace(b, offset=b.offset / tempo, duration=b.duration / tempo) for b in p.boundaries
            )
            out._pieces[key] = _Piece(
                offset,
                min(size - offset, round(p.length / tempo)),
                round(p.lead / tempo),
                round(p.speech / tempo),
                scaled,
            )
        return out


def load_sound(path: Path) -> np.ndarray:
    """A jingle, bed or sting (a regular file in an audio format: WAV, MP3, FLAC, Ogg, M4A, …,
    never a concat list or a playlist), as mono 16-bit samples at the bulletin's rate.

    At most :data:`MAX_SOUND_SECONDS` are read: a longer file is refused, not decoded whole.
    """
    limit = ["-t", str(MAX_SOUND_SECONDS + 1)]
    source = plain_file_input(path)
    try:
        data = run_ffmpeg(
            [
                "-v",
                "error",
                *source,
                "-vn",
                *limit,
                "-f",
                "s16le",
                "-ac",
                "1",
                "-ar",
                str(RATE),
                "pipe:1",
            ],
            what=f"reading {path.name}",
        )
    except AudioError as exc:
        raise AudioError(f"{path}: not audio ffmpeg can read ({exc})") from None
    pcm = np.frombuffer(data, dtype="<i2")
    if pcm.size > MAX_SOUND_SECONDS * RATE:
        raise AudioError(f"{path}: longer than {MAX_SOUND_SECONDS // 60} minutes (a jingle, bed or sting)")
    if pcm.size < RATE // 20:
        raise AudioError(f"{path}: shorter than 50 ms of sound")
    if not np.any(pcm):
        raise AudioError(f"{path}: silent")
    return pcm


@dataclass(frozen=True)
class _Gap:
    seconds: float
    scales: bool  # a pause the fit may shrink or stretch


@dataclass(frozen=True)
class _Speech:
    chunk: int
    key: str
    pause: _Gap | None  # after it, inside its section


@dataclass(frozen=True)
class _Sound:
    path: Path


@dataclass(frozen=True)
class _Mark:
    """Where a section starts (for chapters), a bed starts or ends, or the fill goes."""

    what: str  # "section", "bed", "bed-end", "fill"
    index: int = 0
    bed: Path | None = None


_Op = _Gap | _Speech | _Sound | _Mark


def _running_order(
    sections: Sequence[Section], chunks: Sequence[Chunk], keys: Sequence[str], pauses: Pauses
) -> list[_Op]:
    """The programme as a flat list: gaps, speech, sounds, and marks for sections and beds."""
    ops: list[_Op] = []
    bed: Path | None = None
    for n, section in enumerate(sections):
        previous = sections[n - 1] if n else None
        if bed is not None and section.bed != bed:
            ops += [_Gap(BED_FADE_OUT, False), _Mark("bed-end")]
            bed = None
        elif previous is not None:
            story = "story" in (section.kind, previous.kind)
            if not (section.kind == "story" and section.before is not None):
                ops.append(_Gap(pauses.story if story else pauses.paragraph, True))
        elif section.before is None and section.bed is None:
            ops.append(_Gap(pauses.lead_in, False))
        ops.append(_Mark("section", n))
        if section.before is not None:
            sting = section.kind == "story" and previous is not None
            ops += [_Gap(STING_GAP, True), _Sound(section.before)] if sting else [_Sound(section.before)]
            if sting:
                ops.append(_Gap(STING_GAP, True))
        if section.bed is not None and section.bed != bed:
            bed = section.bed
            ops += [_Mark("bed", bed=bed), _Gap(BED_LEAD, False)]
        for i, c in enumerate(section.chunks):
            last = i == len(section.chunks) - 1
            pause = None if last else _Gap(pauses.after(chunks[c].pause_after), True)
            ops.append(_Speech(c, keys[c], pause))
        if section.fill and bed is not None:
            ops.append(_Mark("fill"))
        if section.after is not None:
            if bed is not None:
                ops += [_Gap(BED_FADE_OUT, False), _Mark("bed-end")]
                bed = None
            else:
                ops.append(_Gap(AFTER_GAP, False))
            ops.append(_Sound(section.after))
    if bed is not None:
        ops += [_Gap(BED_FADE_OUT, False), _Mark("bed-end")]
    ops.append(_Gap(0.2 if ops and isinstance(ops[-1], _Sound) else pauses.tail, False))
    return ops


def _sums(
    ops: Sequence[_Op], seconds: Callable[[str], float], sounds: Mapping[Path, float]
) -> tuple[float, float, float]:
    """(fixed seconds, seconds of pauses that scale, seconds of speech that tempo changes)."""
    fixed = scaled = speech = 0.0
    for op in ops:
        gaps = [op] if isinstance(op, _Gap) else [op.pause] if isinstance(op, _Speech) and op.pause else []
        for gap in gaps:
            if gap.scales:
                scaled += gap.seconds
            else:
                fixed += gap.seconds
        if isinstance(op, _Speech):
            speech += seconds(op.key)
        elif isinstance(op, _Sound):
            fixed += sounds[op.path]
    return fixed, scaled, speech


def fit(
    sections: Sequence[Section],
    chunks: Sequence[Chunk],
    keys: Sequence[str],
    seconds: Callable[[str], float],
    sounds: Mapping[Path, float],
    pauses: Pauses,
    slot: float | None,
) -> Fit:
    """The pause scale and tempo that make the programme end :data:`SLOT_MARGIN` under ``slot``.

    ``seconds`` gives the length of each chunk's speech by key (:meth:`Store.seconds`
    once it is synthesized, an estimate before); ``sounds`` each sound's length.

    Pauses first (speech untouched sounds best), then tempo, each within its range. When
    even the tightest does not fit, ``fits`` is False. When the loosest is still short,
    ``short_by`` says by how much, and a closing bed (a section with ``fill``) fills it.
    """
    ops = _running_order(sections, chunks, keys, pauses)
    fixed, scaled, speech = _sums(ops, seconds, sounds)
    natural = fixed + scaled + speech
    if slot is None:
        return Fit(None, seconds=natural)
    target = slot - SLOT_MARGIN
    (p_low, p_high), (t_low, t_high) = PAUSE_RANGE, TEMPO_RANGE

    def total(s: float, t: float) -> float:
        return fixed + s * scaled + speech / t

    if natural > target:
        s = max(p_low, (target - fixed - speech) / scaled) if scaled else 1.0
        room = target - fixed - s * scaled
        t = speech / room if room > 0 else math.inf
        t = max(1.0, t)
        if t > t_high:
            return Fit(slot, p_low, t_high, fits=False, seconds=total(p_low, t_high))
        return Fit(slot, s, t, seconds=total(s, t))
    s = min(p_high, (target - fixed - speech) / scaled) if scaled else 1.0
    room = target - fixed - s * scaled
    t = min(1.0, max(t_low, speech / room)) if room > 0 and speech else 1.0
    short = target - total(s, t)
    if short < SHORT:  # within reach: the last pause takes up what rounding leaves
        return Fit(slot, s, t, seconds=total(s, t))
    if any(isinstance(op, _Mark) and op.what == "fill" for op in ops):
        # the closing bed fills the gap: pauses and speech stay as they are
        return Fit(slot, short_by=target - natural, filled=target - natural, seconds=natural)
    # short for good: the pauses breathe a little, the tempo is left alone, the file ends early
    return Fit(slot, s, short_by=target - total(s, 1.0), seconds=total(s, 1.0))


def mix(
    sections: Sequence[Section],
    chunks: Sequence[Chunk],
    keys: Sequence[str],
    store: Store,
    sounds: Mapping[Path, np.ndarray],
    fitted: Fit,
    dest: Path,
    work: Path,
    *,
    pauses: Pauses,
    duck_db: float,
    bed_level_db: float,
    options: EncodeOptions,
) -> Assembly:
    """Write the programme, laid out as ``fitted`` says, to the MP3 ``dest`` (step 3 above)."""
    speech_store = store.at_tempo(fitted.tempo, work)
    ops = _running_order(sections, chunks, keys, pauses)
    level = store.loudness()
    gains = {
        p: _gain_to(pcm, level + (BED_LEVEL + bed_level_db if _is_bed(p, sections) else SOUND_LEVEL))
        for p, pcm in sounds.items()
    }
    voice = work / "voice.raw"
    timeline: list[Placed] = []
    starts: list[float] = []
    beds: list[tuple[Path, int, int]] = []  # (bed, first sample, one past the last)
    speech_at: list[tuple[int, int]] = []
    pos = 0
    bed_from: tuple[Path, int] | None = None
    exact = fitted.slot is not None and fitted.fits and (fitted.filled > 0 or fitted.short_by == 0)
    target = round((fitted.slot - SLOT_MARGIN) * RATE) if exact and fitted.slot is not None else None
    source = np.memmap(speech_store.path, dtype="<i2", mode="r") if speech_store.path.stat().st_size else None
    with voice.open("wb", buffering=1 << 20) as f:

        def silence(samples: int) -> None:
            nonlocal pos
            if samples > 0:
                f.write(bytes(2 * samples))
                pos += samples

        def gap(g: _Gap) -> None:
            silence(round(g.seconds * (fitted.pause_scale if g.scales else 1.0) * RATE))

        for n, op in enumerate(ops):
            if isinstance(op, _Gap):
                if n == len(ops) - 1 and target is not None:
                    silence(max(round(0.05 * RATE), target - pos))  # the slot's last sample
                else:
                    gap(op)
            elif isinstance(op, _Mark):
                if op.what == "section":
                    starts.append(pos / RATE)
                elif op.what == "bed" and op.bed is not None:
                    bed_from = (op.bed, pos)
                elif op.what == "bed-end" and bed_from is not None:
                    beds.append((bed_from[0], bed_from[1], pos))
                    bed_from = None
                elif op.what == "fill":
                    silence(round(fitted.filled * RATE))
            elif isinstance(op, _Sound):
                pcm = np.clip(np.round(sounds[op.path] * gains[op.path]), -32768, 32767).astype("<i2")
                f.write(pcm.tobytes())
                pos += pcm.size
            else:
                piece = speech_store.piece(op.key)
                chunk = chunks[op.chunk]
                if piece.length and source is not None:
                    pcm = source[piece.offset : piece.offset + piece.length]
                    start = pos + piece.lead
                    speech_at.append((start, start + piece.speech))
                    shift = pos / RATE
                    bounds = tuple(replace(b, offset=b.offset + shift) for b in piece.boundaries)
                    timeline.append(Placed(chunk, start / RATE, (start + piece.speech) / RATE, bounds))
                    f.write(np.asarray(pcm).tobytes())
                    pos += pcm.size
                else:
                    timeline.append(Placed(chunk, pos / RATE, pos / RATE, ()))
                if op.pause is not None:
                    gap(op.pause)
    del source
    duration = pos / RATE
    starts[:1] = [0.0] * len(starts[:1])  # the first part's chapter holds the lead-in
    ends = [*starts[1:], duration]
    spans = tuple(Span(s.kind, s.title, a, b) for s, a, b in zip(sections, starts, ends, strict=True))
    sinks = Sinks(RATE, options)
    out = work / "programme.raw"
    _mix_beds(voice, out, beds, sounds, gains, speech_at, duck_db, sinks)
    assembly = normalize_and_encode(out, RATE, duration, timeline, sinks, dest, options)
    return replace(assembly, spans=spans, fit=replace(fitted, seconds=duration))


def _is_bed(path: Path, sections: Sequence[Section]) -> bool:
    return any(s.bed == path for s in sections)


def _gain_to(pcm: np.ndarray, lufs: float) -> float:
    """The linear gain that brings ``pcm`` to ``lufs`` (unity when it cannot be measured)."""
    meter = Meter(RATE, true_peak=False)
    meter.add(pcm)
    got = meter.result().integrated
    if not math.isfinite(got) or got <= -69.0:
        return 1.0
    return float(10 ** ((lufs - got) / 20))


def _mix_beds(
    voice: Path,
    out: Path,
    beds: Sequence[tuple[Path, int, int]],
    sounds: Mapping[Path, np.ndarray],
    gains: Mapping[Path, float],
    speech_at: Sequence[tuple[int, int]],
    duck_db: float,
    sinks: Sinks,
) -> None:
    """``voice`` plus every bed, ducked where the speech is, into ``out``, fed to ``sinks`` as written."""
    track = np.memmap(voice, dtype="<i2", mode="r") if voice.stat().st_size else np.zeros(0, "<i2")
    envelopes = [_envelope(a, b, speech_at, duck_db) * gains[bed] for bed, a, b in beds]
    block = 10 * RATE
    with out.open("wb", buffering=1 << 20) as f:
        for start in range(0, track.size, block):
            end = min(track.size, start + block)
            mixed = track[start:end].astype(np.float32)
            for (bed, a, b), envelope in zip(beds, envelopes, strict=True):
                lo, hi = max(a, start), min(b, end)
                if lo < hi:
                    looped = sounds[bed][(np.arange(lo, hi) - a) % sounds[bed].size]
                    mixed[lo - start : hi - start] += looped * envelope[lo - a : hi - a]
            pcm = np.clip(np.round(mixed), -32768, 32767).astype("<i2")
            f.write(pcm.tobytes())
            for feed in sinks.feeds:
                feed(pcm)
    del track


def _envelope(a: int, b: int, speech_at: Sequence[tuple[int, int]], duck_db: float) -> np.ndarray:
    """A bed's gain for samples ``a``..``b``: faded in and out, ``duck_db`` where the voice speaks.

    Speech intervals are widened by the attack and release, gaps shorter than
    :data:`DUCK_HOLD` are bridged, and the steps are ramped over :data:`DUCK_RAMP` (a
    moving average of the gain in dB on 10 ms frames), so the bed dips smoothly.
    """
    frames = (b - a) // _FRAME + 2
    ducked = np.zeros(frames, dtype=bool)
    hold = int(DUCK_HOLD * RATE)
    merged: list[list[int]] = []
    for s, e in sorted(speech_at):
        if e <= a or s >= b:
            continue
        if merged and s - merged[-1][1] < hold:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    for s, e in merged:
        first = max(0, (s - a - int(DUCK_ATTACK * RATE)) // _FRAME)
        last = min(frames, (e - a + int(DUCK_RELEASE * RATE)) // _FRAME + 1)
        ducked[first:last] = True
    gain_db = np.where(ducked, duck_db, 0.0)
    ramp = max(1, int(DUCK_RAMP * RATE) // _FRAME)
    padded = np.concatenate([np.full(ramp, gain_db[0]), gain_db, np.full(ramp, gain_db[-1])])
    smooth = np.convolve(padded, np.ones(ramp) / ramp, mode="same")[ramp:-ramp]
    per_frame = (10 ** (smooth / 20)).astype(np.float32)
    index = np.arange(b - a, dtype=np.float32)
    fades = np.minimum(index / (BED_FADE_IN * RATE), (b - a - index) / (BED_FADE_OUT * RATE))
    return np.repeat(per_frame, _FRAME)[: b - a] * np.clip(fades, 0.0, 1.0)
