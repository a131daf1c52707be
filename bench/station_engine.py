"""The station benchmark's engine (``BULLETIN_ENGINE_FACTORY=station_engine:engine``): synthetic,
but it costs real CPU per character, so worker processes compete for the cores the way
Kokoro's do.

Each text becomes a WAV tone 0.2 s a speakable character (a newsreader's pace, like the
tests' in-memory engine), after a fixed amount of work per character: SHA-256 rounds,
``STATION_BENCH_ROUNDS`` per character, which ``station_bench.py`` calibrates so that on
an idle core one second of audio costs ``--cost`` seconds of CPU (Kokoro: about 0.33 on
this machine, issue 20). Fixed work, not a fixed time: on a busy machine it takes
longer, as a model would.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from typing import ClassVar

from bulletin.engines.base import Clip, OnClip, VoiceSettings, wav_bytes

RATE = 24_000
#: Seconds of audio per speakable character.
SECONDS_PER_CHAR = 0.2


def burn(rounds: int) -> None:
    """``rounds`` SHA-256 compressions of a small block: CPU only, a steady cost per round."""
    block = b"bulletin" * 8
    for _ in range(rounds):
        block = hashlib.sha256(block).digest() * 2


def tone(seconds: float, frequency: float) -> bytes:
    """A 16-bit mono WAV sine with 10 ms fades (silence trimming finds it whole), its level
    rising and falling five times a second like syllables.

    The envelope matters to the run's own cost: the loudness meter looks for true peaks only
    near loud samples, and a steady sine is loud everywhere (it costs the meter twice what
    speech does), so a flat tone would weigh the mixing against synthesis unfairly.
    """
    import numpy as np

    count = max(1, int(seconds * RATE))
    n = np.arange(count)
    edge = np.minimum(1.0, np.minimum(n, count - n) / (0.01 * RATE))
    syllables = 0.15 + 0.85 * np.sin(np.pi * 5 * n / RATE) ** 2
    return wav_bytes(0.3 * edge * syllables * np.sin(2 * np.pi * frequency * n / RATE), RATE)


class CpuEngine:
    """Real WAV audio, real CPU per character, no model, no network."""

    name: ClassVar[str] = "bench"
    max_chunk_chars: ClassVar[int] = 100

    def __init__(self, rounds_per_char: int) -> None:
        self.rounds_per_char = rounds_per_char

    def version(self, voice: VoiceSettings | None = None) -> str:
        return f"bench-{self.rounds_per_char}"

    def probe(self, timeout: float) -> tuple[bool, str]:
        return True, "synthetic"

    def synthesize(
        self, texts: Sequence[str], voice: VoiceSettings, *, on_clip: OnClip | None = None
    ) -> list[Clip]:
        clips = []
        for i, text in enumerate(texts):
            chars = max(1, sum(ch.isalnum() for ch in text))
            burn(chars * self.rounds_per_char)
            clip = Clip(tone(chars * SECONDS_PER_CHAR, 200 + 10 * (chars % 20)), "wav")
            clips.append(clip)
            if on_clip is not None:
                on_clip(i, clip)
        return clips


def engine() -> CpuEngine:
    return CpuEngine(int(os.environ.get("STATION_BENCH_ROUNDS", "1000")))
