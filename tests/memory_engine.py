"""An in-memory speech engine for run-level tests: real audio, no network, no model.

It implements the :class:`bulletin.engines.base.Engine` protocol for real: every text
becomes a 24 kHz 16-bit WAV of a tone whose length follows the text (``seconds_per_char``
per speakable character) and whose pitch follows the chunk, so assembly, timelines,
tags and subtitles are tested on real audio. It records what it was asked, can fail
(once, or for good) like an engine does, and counts how many clips are alive at once,
so the streaming of clips into assembly can be checked.
"""

from __future__ import annotations

import io
import warnings
import weakref
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from bulletin.engines.base import Clip, OnClip, VoiceSettings
from bulletin.errors import SynthesisError

RATE = 24_000


def tone_wav(seconds: float, frequency: float = 220.0) -> bytes:
    """A WAV tone with soft edges (so silence trimming finds it whole): numpy draws it, pydub shapes it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydub warns that it found no ffmpeg; WAV needs none
        from pydub import AudioSegment

    t = np.arange(max(1, int(seconds * RATE))) / RATE
    pcm = (0.3 * 32767 * np.sin(2 * np.pi * frequency * t)).astype("<i2")
    tone = AudioSegment(data=pcm.tobytes(), sample_width=2, frame_rate=RATE, channels=1)
    out = io.BytesIO()
    tone.fade_in(10).fade_out(10).export(out, format="wav")
    return out.getvalue()


class MemoryEngine:
    """See module docstring. ``fail_on``: a text containing it fails for good ("" fails every text)."""

    name: ClassVar[str] = "memory"
    max_chunk_chars: ClassVar[int] = 100

    def __init__(
        self, seconds_per_char: float = 0.02, *, fail_on: str | None = None, name: str = "memory"
    ) -> None:
        self.name = name  # type: ignore[misc]  # it may stand in for "edge" or "offline"
        self.seconds_per_char = seconds_per_char
        self.fail_on = fail_on  # a text containing this fails for good
        self.texts: list[str] = []
        self.batches: list[int] = []
        self.most_alive = 0
        self._alive: weakref.WeakSet[Clip] = weakref.WeakSet()

    def version(self, voice: VoiceSettings | None = None) -> str:
        return f"memory-{self.seconds_per_char}"

    def probe(self, timeout: float) -> tuple[bool, str]:
        return True, "in memory"

    def seconds_for(self, text: str) -> float:
        return max(1, sum(ch.isalnum() for ch in text)) * self.seconds_per_char

    def synthesize(
        self, texts: Sequence[str], voice: VoiceSettings, *, on_clip: OnClip | None = None
    ) -> list[Clip]:
        self.batches.append(len(texts))
        clips = []
        for i, text in enumerate(texts):
            if self.fail_on is not None and self.fail_on in text:
                raise SynthesisError(f"memory: chunk {i} cannot be said", chunk=i, attempts=1)
            self.texts.append(text)
            clip = Clip(tone_wav(self.seconds_for(text), 200 + 10 * (len(self.texts) % 20)), "wav")
            self._alive.add(clip)
            self.most_alive = max(self.most_alive, len(self._alive))
            clips.append(clip)
            if on_clip is not None:
                on_clip(i, clip)
        return clips
