"""Rate, volume and pitch in edge-tts's forms (``+10%``, ``-5%``, ``+2Hz``), checked once for every engine.

Both engines accept exactly the same settings, so a preset survives the fallback from
Edge to the offline voice.
"""

from __future__ import annotations

import re

from bulletin.errors import ConfigError

_PERCENT_RE = re.compile(r"([+-])(\d{1,4})%")
_PITCH_RE = re.compile(r"([+-])(\d{1,4})Hz")

#: Accepted prosody, the same for both engines (a preset must survive the fallback to
#: the offline voice): beyond these Edge clamps silently and the offline voice garbles.
RATE_RANGE = (-50, 100)  # percent
VOLUME_RANGE = (-100, 100)  # percent
PITCH_RANGE = (-100, 100)  # Hz


def _signed(value: object, pattern: re.Pattern[str], what: str, unit: str, bounds: tuple[int, int]) -> int:
    m = pattern.fullmatch(value) if isinstance(value, str) else None  # no trailing newline either
    if m is None:
        raise ConfigError(
            f"bad {what} {value!r}: use a sign, digits and {unit}, such as +10{unit} or -5{unit}"
        )
    number = int(m.group(2)) * (-1 if m.group(1) == "-" else 1)
    lo, hi = bounds
    if not lo <= number <= hi:
        raise ConfigError(f"{what} {value} is out of range ({lo:+d}{unit} to {hi:+d}{unit})")
    return number


def parse_prosody(rate: str, volume: str, pitch: str) -> tuple[int, int, int]:
    """Rate and volume in percent and pitch in Hz, from edge-tts's forms (``+10%``, ``-5%``, ``+2Hz``).

    The one place these strings are checked, so both engines accept exactly the same
    settings; raises :class:`ConfigError` before any request is made.
    """
    return (
        _signed(rate, _PERCENT_RE, "rate", "%", RATE_RANGE),
        _signed(volume, _PERCENT_RE, "volume", "%", VOLUME_RANGE),
        _signed(pitch, _PITCH_RE, "pitch", "Hz", PITCH_RANGE),
    )


def validate_prosody(rate: str, volume: str, pitch: str) -> None:
    """Check rate/volume/pitch (see :func:`parse_prosody`)."""
    parse_prosody(rate, volume, pitch)
