"""Settings of the audio stages as typed, validated values (no heavy imports).

They live apart from :mod:`bulletin.audio.assemble` so that the CLI and the build options can
use them without loading numpy: a cron run that finds its bulletin unchanged should
start and stop in a blink.
"""

from __future__ import annotations

from dataclasses import dataclass

from bulletin.errors import ConfigError
from bulletin.text.chunk import PauseKind

# Valid MP3 sample rates and their bitrate ranges (MPEG-1 for >= 32 kHz, MPEG-2 below).
_MPEG1_RATES = frozenset({32000, 44100, 48000})
_MPEG2_RATES = frozenset({16000, 22050, 24000})


@dataclass(frozen=True)
class Pauses:
    """Silence, in seconds, inserted after a chunk by what follows it, plus lead-in and tail.

    The pause is the audible gap: the few milliseconds of original silence kept around
    each clip count towards it.
    """

    clause: float = 0.20
    sentence: float = 0.35
    paragraph: float = 0.80
    story: float = 1.50
    lead_in: float = 0.30
    tail: float = 0.70

    def __post_init__(self) -> None:
        for name in ("clause", "sentence", "paragraph", "story", "lead_in", "tail"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0 <= value <= 10:
                raise ConfigError(f"pause {name} must be between 0 and 10 seconds, not {value!r}")

    def table(self) -> dict[str, float]:
        """The pause after each kind of chunk end, for estimates."""
        return {k: self.after(k) for k in ("clause", "sentence", "paragraph", "story", "end")}  # type: ignore[arg-type]

    def after(self, kind: PauseKind) -> float:
        """The pause after a chunk whose ``pause_after`` is ``kind`` ("end" gets the tail)."""
        if kind == "end":
            return self.tail
        return float(getattr(self, kind))


@dataclass(frozen=True)
class EncodeOptions:
    """How the finished bulletin is normalized and encoded.

    ``normalize=False`` skips measurement and normalization (a quick preview: clips are
    already at a sensible level); ``Assembly.loudness`` is then None.
    """

    loudness: float = -16.0  # integrated target, LUFS
    true_peak: float = -1.0  # ceiling, dBTP
    bitrate: str = "64k"
    sample_rate: int = 24000
    normalize: bool = True

    def __post_init__(self) -> None:
        if not -40.0 <= self.loudness <= -5.0:
            raise ConfigError(f"loudness target must be between -40 and -5 LUFS, not {self.loudness}")
        if not -9.0 <= self.true_peak <= 0.0:
            raise ConfigError(f"true-peak ceiling must be between -9 and 0 dBTP, not {self.true_peak}")
        if self.sample_rate not in _MPEG1_RATES | _MPEG2_RATES:
            rates = ", ".join(str(r) for r in sorted(_MPEG1_RATES | _MPEG2_RATES))
            raise ConfigError(f"MP3 sample rate must be one of {rates}, not {self.sample_rate}")
        kbps = self.kbps
        low, high = (32, 320) if self.sample_rate in _MPEG1_RATES else (8, 160)
        if not low <= kbps <= high:
            raise ConfigError(
                f"bitrate {self.bitrate} is outside {low}k-{high}k for MP3 at {self.sample_rate} Hz"
            )

    @property
    def kbps(self) -> int:
        """The bitrate in kbit/s ("64k", "64" or "64000" are all accepted)."""
        text = str(self.bitrate).strip().lower()
        try:
            if text.endswith("k"):
                return int(text[:-1])
            value = int(text)
        except ValueError:
            raise ConfigError(f"bitrate must look like 64k, not {self.bitrate!r}") from None
        return value // 1000 if value >= 1000 else value
