"""An edition: one programme at one air time, the unit that is published exactly once.

Its id is readable (``hourly@2026-11-26T13:00Z``: the programme file's stem and the air
time in UTC), so Flower and ``bulletin status`` show which edition a task is about, and a
redelivered or duplicate task finds the same id. Programme files in one station folder
therefore need distinct names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from bulletin.errors import ConfigError


@dataclass(frozen=True)
class Edition:
    programme: Path
    air: datetime  # aware
    late: float  # seconds after ``air`` past which it is not published

    @property
    def id(self) -> str:
        return f"{self.programme.stem}@{self.air.astimezone(timezone.utc):%Y-%m-%dT%H:%MZ}"

    @property
    def deadline(self) -> float:
        """The last moment (epoch seconds) the edition may be published."""
        return self.air.timestamp() + self.late


def parse_air(text: str) -> datetime:
    """An air time as the tasks carry it: ISO 8601 with its offset."""
    try:
        air = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"air time {text!r} is not an ISO time with an offset") from None
    if air.tzinfo is None:
        raise ConfigError(f"air time {text!r} has no offset")
    return air
