"""What assembly produced: loudness, and where each chunk's speech ended up.

Plain values, no numpy: subtitles, tags, the report and the assembled-bulletin cache
read them without loading the audio machinery.
"""

from __future__ import annotations

from dataclasses import dataclass

from bulletin.engines.base import Boundary
from bulletin.text.chunk import Chunk


@dataclass(frozen=True)
class Loudness:
    """An EBU R128 / ITU-R BS.1770 measurement of a whole file."""

    integrated: float  # LUFS
    true_peak: float  # dBTP
    lra: float  # LU


@dataclass(frozen=True)
class Placed:
    """Where a chunk's speech ended up in the final file.

    ``start``/``end`` are seconds from the start of the file and span the chunk's speech
    (after trimming, excluding the few ms of kept silence). ``boundaries`` are the
    engine's boundaries with ``offset`` rewritten as seconds from the start of the
    *file* (shifted by the trim and the clip's position), clamped to the clip's audio.
    """

    chunk: Chunk
    start: float
    end: float
    boundaries: tuple[Boundary, ...] = ()


@dataclass(frozen=True)
class Span:
    """A part of a programme (opener, headlines, a story, closer) and where it lies in the file."""

    kind: str
    title: str
    start: float
    end: float


@dataclass(frozen=True)
class Fit:
    """How a programme was fitted to its slot (see :mod:`bulletin.audio.mix`)."""

    slot: float | None
    pause_scale: float = 1.0  # every pause multiplied by this
    tempo: float = 1.0  # speech played this much faster (>1) or slower (<1)
    short_by: float = 0.0  # seconds the news could not fill (the closing bed filled them, if any)
    filled: float = 0.0  # seconds of closing bed added to fill the slot
    fits: bool = True  # False: even at the tightest pauses and tempo it is longer than the slot
    seconds: float = 0.0  # the programme's length at this fit (before a closing bed fills it)


@dataclass(frozen=True)
class Assembly:
    """The result of :func:`assemble`: duration, timeline and what the final file measured."""

    duration: float  # seconds of audio written (lead-in to tail)
    timeline: list[Placed]
    loudness: Loudness | None  # measured on the encoded MP3; None when normalize=False
    attempts: int = 1  # encodes needed to meet the targets
    limited: bool = False  # whether the peak limiter was engaged
    on_target: bool = True  # final file within +-0.3 LU and under the true-peak ceiling
    #: A programme's parts, in order (empty for a plain bulletin), and how it was fitted.
    spans: tuple[Span, ...] = ()
    fit: Fit | None = None
