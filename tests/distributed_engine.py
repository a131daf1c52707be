"""The engine distributed workers speak with in tests (``BULLETIN_ENGINE_FACTORY=distributed_engine:slow``).

The in-memory engine (real audio, no network), slowed to a fixed time per text, so a
programme takes long enough for a worker to be killed in the middle of it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from memory_engine import MemoryEngine

from bulletin.engines.base import Clip, OnClip, VoiceSettings

#: Seconds each text takes to "synthesize".
DELAY = 0.15


class SlowMemoryEngine(MemoryEngine):
    def synthesize(
        self, texts: Sequence[str], voice: VoiceSettings, *, on_clip: OnClip | None = None
    ) -> list[Clip]:
        time.sleep(DELAY * len(texts))
        return super().synthesize(texts, voice, on_clip=on_clip)


def slow() -> SlowMemoryEngine:
    return SlowMemoryEngine(seconds_per_char=0.05)
