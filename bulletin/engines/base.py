"""The one small interface every speech engine implements.

An engine turns a batch of spoken-form texts into audio clips, in order. It gets
the whole batch (not one text at a time) so that each engine can use its own kind
of parallelism: the Edge engine runs bounded concurrent WebSocket requests, the
offline engine spreads work over threads. Caching, chunking and assembly live
outside the engines, so an engine only ever sees texts that really need speech.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class VoiceSettings:
    """What to say things with. ``rate``/``volume``/``pitch`` use edge-tts's forms."""

    engine: str  # "edge" or "offline"
    voice: str  # an Edge ShortName, or the offline model's name
    rate: str = "+0%"
    volume: str = "+0%"
    pitch: str = "+0Hz"


@dataclass(frozen=True)
class Boundary:
    """A sentence or word the engine reported, in seconds from the clip's start.

    ``text`` is a piece of the *spoken* text the clip was made from, and boundaries come
    in the order they are spoken, so a reader can find each one in that text by searching
    forward (subtitles time their cues this way). ``"word"`` boundaries are what subtitles
    need: Edge reports them (the service's own word segmentation, numbers and Latin words
    whole); the offline engine reports one per character or Latin token it spoke, from the
    model's predicted durations. Text the engine did not speak has no boundary.
    """

    kind: Literal["sentence", "word"]
    text: str
    offset: float
    duration: float


@dataclass(frozen=True)
class Clip:
    """One synthesized chunk: encoded audio bytes plus what the engine knows of its timing.

    ``boundaries`` is optional: an engine that knows no timing leaves it empty, and
    subtitles then spread the chunk's time over its characters.
    """

    data: bytes
    format: str  # container/codec ffmpeg can read: "mp3" (edge) or "wav" (offline)
    boundaries: tuple[Boundary, ...] = ()
    retries: int = 0  # transient failures recovered while making it
    meta: dict[str, object] = field(default_factory=dict, compare=False)


def wav_bytes(audio: np.ndarray, rate: int) -> bytes:
    """Float samples in [-1, 1] as 16-bit mono WAV bytes: how the offline models hand over a clip."""
    import io
    import wave

    import numpy as np

    pcm = np.round(np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


#: Called as each clip is ready: (position in the batch, clip). Used for progress.
OnClip = Callable[[int, Clip], None]


@runtime_checkable
class Engine(Protocol):
    """A speech engine. Implementations: :mod:`bulletin.engines.edge`, :mod:`bulletin.engines.offline`."""

    name: ClassVar[str]
    #: Longest chunk, in characters of spoken text, this engine should be given.
    max_chunk_chars: ClassVar[int]

    def version(self, voice: VoiceSettings) -> str:
        """A string that changes whenever the same text would sound different in ``voice`` (cache key).

        Per voice, because one engine may speak through several models (the offline
        engine: Kokoro and Baker), and a change to one must not empty the cache of the
        other. The voice itself is keyed beside the version.
        """
        ...

    def probe(self, timeout: float) -> tuple[bool, str]:
        """Can this engine speak now? ``(ok, why)``, within ``timeout`` seconds, synthesizing nothing.

        Edge makes a WebSocket handshake; the offline voice is always there (it may have to
        be installed on first use, which :meth:`synthesize` does).
        """
        ...

    def synthesize(
        self,
        texts: Sequence[str],
        voice: VoiceSettings,
        *,
        on_clip: OnClip | None = None,
    ) -> list[Clip]:
        """Speak every text, returning clips in the same order.

        Raises :class:`bulletin.errors.SynthesisError` (with ``chunk`` set to the
        position in ``texts``) when a text cannot be spoken after retries; no
        partial list is returned.
        """
        ...


# ---- capabilities: what some engines do and others need not -----------------------------


@runtime_checkable
class Skips(Protocol):
    """An engine that cannot say everything it is given (the offline voices: a Latin word
    Baker cannot spell, a character with no reading); the run lists what will be skipped."""

    def unspoken(self, texts: Sequence[str], voices: Sequence[VoiceSettings]) -> list[str]:
        """What will be skipped in each text (said in the voice beside it), in order."""
        ...


@runtime_checkable
class Installs(Protocol):
    """An engine whose voice may first have to be fetched (the offline models, through pip)."""

    def install_note(self, voice: VoiceSettings) -> str | None:
        """What to tell the user before ``voice`` is fetched; None when it is already there."""
        ...
