"""The programme file: what a station airs at the top of the hour, written once as TOML.

A programme wraps the stories in an opener (a jingle, then a spoken line over a music
bed), the headlines, stings between stories read by alternating anchors, a closer, and
fits the whole to the slot in the playout log. This module only *reads* the file and
checks it, before anything is synthesized: an unknown key, a missing audio file, a
placeholder that does not exist or a slot that is not a length is a one-line
:class:`~bulletin.errors.ConfigError` (exit 2). What the programme then says is
:mod:`bulletin.run.programme.rundown`; how it sounds is :mod:`bulletin.audio.mix`.

Paths inside the file are relative to the file; sources that are URLs are kept as
they are.
"""

from __future__ import annotations

import re
import string
import sys
from dataclasses import dataclass, field, replace
from datetime import timezone, tzinfo
from pathlib import Path
from typing import Any

from bulletin.errors import ConfigError
from bulletin.files import NotRegularFile, read_regular
from bulletin.text.airtime import parse_zone

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: What a text may hold: ``{name}`` and the air time's date, weekday and time of day.
PLACEHOLDERS = ("name", "date", "weekday", "time")
#: How far the bed dips under speech, in dB, unless the programme says otherwise.
DUCK_DB = -18.0
#: The shortest and longest slot a programme may be fitted to, in seconds.
SLOT_RANGE = (10.0, 6 * 3600.0)
#: Each story's budget in seconds when the programme has a slot and ``[stories] max_seconds`` says none.
STORY_SECONDS = 30.0
#: The range a story's budget and a source's priority may take.
BUDGET_RANGE = (5.0, 600.0)
PRIORITY_RANGE = (-10, 10)
#: A programme file larger than this is not a programme.
_MAX_BYTES = 1 << 20
#: The longest ``name`` (it is said wherever ``{name}`` stands, and titles the feed).
MAX_NAME_CHARS = 100
#: The longest a programme's text may be once its placeholders are filled (about seven
#: minutes of speech): a 3,000-character name used 100,000 times once grew past 3 GB.
MAX_TEXT_CHARS = 2000
#: The most characters each placeholder but ``{name}`` can become (十二月二十七日,
#: 星期三, 中午十二點四十五分); ``{name}`` is as long as the name.
_WIDEST = {"date": 8, "weekday": 3, "time": 10}

_TOP_KEYS = (
    "name",
    "voice",
    "slot",
    "max_stories",
    "sources",
    "opener",
    "headlines",
    "stories",
    "closer",
    "mix",
    "rundown",
    "station",
)
_PART_KEYS = {
    "opener": ("text", "audio", "bed", "voice"),
    "headlines": ("count", "text", "voice"),
    "stories": ("sting", "voices", "max_seconds"),
    "closer": ("text", "audio", "bed", "voice"),
    "mix": ("duck", "bed_level"),
    "rundown": ("order", "pin", "drop", "rotate"),
    "station": ("schedule", "lead", "late", "output", "feed", "base_url"),
}
#: A station's build starts this long before air time, and an edition not published by
#: its air time plus ``late`` is dropped (seconds), unless the file says otherwise.
LEAD = 600.0
LATE = 300.0
_CRON = re.compile(r"^\S+(\s+\S+){4}$")


@dataclass(frozen=True)
class Part:
    """The opener or the closer: a line to speak and the audio around it (each optional)."""

    text: str | None = None
    audio: Path | None = None  # the opener's plays before its speech; the closer's after
    bed: Path | None = None  # looped under the speech (and, for the closer, filling a short programme)
    voice: str | None = None  # a preset; the programme's voice when None


@dataclass(frozen=True)
class Headlines:
    """The first ``count`` aired stories' headlines, after an introducing line."""

    count: int = 0
    text: str | None = None
    voice: str | None = None


@dataclass(frozen=True)
class Stories:
    """How stories are strung together: a sting between two, and the anchors taking turns."""

    sting: Path | None = None
    voices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Station:
    """When a station group makes this programme and where it goes (``[station]``, issue 20).

    ``schedule`` is a five-field cron expression or ``hourly``, read by ``bulletin
    schedule``; ``lead`` is how long before air time the build starts, ``late`` how long
    after air time an edition may still be published; the outputs are as ``build``'s.
    """

    schedule: str | None = None
    lead: float = LEAD
    late: float = LATE
    output: str | None = None
    feed: str | None = None
    base_url: str | None = None


@dataclass(frozen=True)
class Programme:
    """A checked programme file. Every part is optional; an empty programme reads the stories."""

    path: Path
    name: str = ""
    voice: str | None = None
    slot: float | None = None  # seconds
    max_stories: int | None = None
    sources: tuple[str, ...] = ()
    #: A source's time zone, for the times it gives without an offset (``{source = "…",
    #: timezone = "Asia/Taipei"}`` in ``sources``): source → IANA name.
    timezones: dict[str, str] = field(default_factory=dict)
    opener: Part = field(default_factory=Part)
    headlines: Headlines = field(default_factory=Headlines)
    stories: Stories = field(default_factory=Stories)
    closer: Part = field(default_factory=Part)
    duck_db: float = DUCK_DB
    bed_level_db: float = 0.0
    #: The rundown (:mod:`bulletin.run.editorial`): order, pins, drops, rotation, budgets.
    order: str = "importance"
    pins: tuple[str, ...] = ()
    drops: tuple[str, ...] = ()
    rotate: bool = True
    max_seconds: float | None = None  # each story's budget
    priorities: tuple[tuple[str, int], ...] = ()  # extra coverage per source
    station: Station = field(default_factory=Station)

    def zones(self) -> dict[str, tzinfo]:
        """Each source's own time zone (``timezones``), as zones."""
        return {source: parse_zone(name, local=timezone.utc) for source, name in self.timezones.items()}

    @property
    def sounds(self) -> tuple[Path, ...]:
        """Every audio file the programme plays (each decoded before anything is synthesized)."""
        found = (
            self.opener.audio,
            self.opener.bed,
            self.stories.sting,
            self.closer.bed,
            self.closer.audio,
        )
        return tuple(dict.fromkeys(p for p in found if p is not None))

    @property
    def voices(self) -> tuple[str | None, ...]:
        """Every voice named anywhere (None: the run's voice), for checking before any work."""
        return (self.voice, self.opener.voice, self.headlines.voice, self.closer.voice, *self.stories.voices)

    def digest_fields(self) -> dict[str, Any]:
        """What of the programme changes the bulletin's bytes (the skip-unchanged fingerprint)."""
        from bulletin.files import file_digest

        return {
            "programme": repr(replace(self, station=Station())),  # when and where: not the bytes
            "sounds": [file_digest(p)[1] for p in self.sounds],
        }


def load_programme(path: str | Path) -> Programme:
    """Read and check a programme file (see the module docstring)."""
    path = Path(path)
    where = f"programme {path}"
    try:
        raw = read_regular(path, _MAX_BYTES)
    except NotRegularFile:
        raise ConfigError(f"{where}: not a regular file") from None
    except FileNotFoundError:
        raise ConfigError(f"{where}: no such file") from None
    except OSError as exc:
        raise ConfigError(f"{where}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML ({exc})") from None
    return _Reader(path, where).programme(data)


def parse_slot(value: object) -> float:
    """A slot as seconds: ``"2:00"``, ``"1:00:00"``, ``"90"`` or a number of seconds."""
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d+(\.\d+)?", text):
            seconds = float(text)
        elif m := re.fullmatch(r"(?:(\d+):)?(\d{1,2}):(\d{2})", text):
            hours, minutes, secs = int(m[1] or 0), int(m[2]), int(m[3])
            if secs < 60 and (m[1] is None or minutes < 60):
                seconds = float(hours * 3600 + minutes * 60 + secs)
    low, high = SLOT_RANGE
    if seconds is None or not low <= seconds <= high:
        raise ConfigError(
            f"slot {value!r} is not a length between {low:.0f} s and {high / 3600:.0f} h "
            '(write it like "2:00" or 120)'
        )
    return seconds


class _Reader:
    """Checks one programme file's table, naming the file and the key in every error."""

    def __init__(self, path: Path, where: str) -> None:
        self.folder = path.parent
        self.where = where
        self.path = path
        self.title = ""  # the programme's name, once read

    def fail(self, message: str) -> ConfigError:
        return ConfigError(f"{self.where}: {message}")

    def programme(self, data: dict[str, Any]) -> Programme:
        self.known(data, _TOP_KEYS, "")
        self.title = self.name(data)  # first: a text's length with its placeholders filled needs it
        parts = {name: self.table(data, name) for name in _PART_KEYS}
        opener, headlines, stories, closer, mix, desk, station = (parts[n] for n in _PART_KEYS)
        count = self.integer(headlines, "headlines.count", 0, 50) if "count" in headlines else 0
        max_stories = self.integer(data, "max_stories", 1, 1000) if "max_stories" in data else None
        sources, timezones = self.sources(data)
        slot = self.slot(data)
        order = self.string(desk, "order", "rundown.order") or "importance"
        if order not in ("given", "importance"):
            raise self.fail(f'rundown.order must be "importance" or "given", not {order!r}')
        rotate = desk.get("rotate", True)
        if not isinstance(rotate, bool):
            raise self.fail(f"rundown.rotate must be true or false, not {rotate!r}")
        if "max_seconds" in stories:
            low, high = BUDGET_RANGE
            max_seconds: float | None = self.number(
                stories, "max_seconds", "stories.max_seconds", low, high, STORY_SECONDS, unit="seconds"
            )
        else:
            max_seconds = STORY_SECONDS if slot is not None else None
        return Programme(
            path=self.path,
            name=self.title,
            voice=self.string(data, "voice"),
            slot=slot,
            max_stories=max_stories,
            sources=tuple(s for s, _ in sources),
            timezones=timezones,
            opener=self.part(opener, "opener"),
            headlines=Headlines(
                count=count,
                text=self.text(headlines, "headlines.text"),
                voice=self.string(headlines, "voice", "headlines.voice"),
            ),
            stories=Stories(
                sting=self.audio(stories, "sting", "stories.sting"),
                voices=self.strings(stories, "voices", "stories.voices"),
            ),
            closer=self.part(closer, "closer"),
            duck_db=self.number(mix, "duck", "mix.duck", -60.0, 0.0, DUCK_DB),
            bed_level_db=self.number(mix, "bed_level", "mix.bed_level", -40.0, 12.0, 0.0),
            order=order,
            pins=self.strings(desk, "pin", "rundown.pin"),
            drops=self.strings(desk, "drop", "rundown.drop"),
            rotate=rotate,
            max_seconds=max_seconds,
            priorities=tuple((s, p) for s, p in sources if p),
            station=self.station(station),
        )

    def station(self, table: dict[str, Any]) -> Station:
        schedule = self.string(table, "schedule", "station.schedule")
        if schedule is not None and schedule != "hourly" and not _CRON.match(schedule):
            raise self.fail(f"station.schedule {schedule!r} is not a cron expression (five fields) or hourly")
        output, feed = (self.string(table, k, f"station.{k}") for k in ("output", "feed"))
        return Station(
            schedule=schedule,
            lead=self.length(table, "lead", LEAD),
            late=self.length(table, "late", LATE),
            output=str(self.folder / output) if output else None,
            feed=str(self.folder / feed) if feed else None,
            base_url=self.string(table, "base_url", "station.base_url"),
        )

    def length(self, table: dict[str, Any], key: str, default: float) -> float:
        if key not in table:
            return default
        try:
            return parse_slot(table[key])
        except ConfigError as exc:
            raise self.fail(f"station.{key}: {exc}".replace("slot ", "", 1)) from None

    def name(self, data: dict[str, Any]) -> str:
        name = self.string(data, "name") or ""
        self.speakable(name, "name")
        if "{" in name or "}" in name:
            raise self.fail("name must not hold braces")
        if len(name) > MAX_NAME_CHARS:
            raise self.fail(f"name is {len(name):,} characters long; at most {MAX_NAME_CHARS}")
        return name

    def slot(self, data: dict[str, Any]) -> float | None:
        if "slot" not in data:
            return None
        try:
            return parse_slot(data["slot"])
        except ConfigError as exc:
            raise self.fail(str(exc)) from None

    def known(self, table: dict[str, Any], keys: tuple[str, ...], prefix: str) -> None:
        unknown = [k for k in table if k not in keys]
        if unknown:
            raise self.fail(f"unknown key {prefix}{unknown[0]} (known: {', '.join(keys)})")

    def table(self, data: dict[str, Any], name: str) -> dict[str, Any]:
        table = data.get(name, {})
        if not isinstance(table, dict):
            raise self.fail(f"{name} must be a table ([{name}])")
        self.known(table, _PART_KEYS[name], f"{name}.")
        return table

    def part(self, table: dict[str, Any], name: str) -> Part:
        return Part(
            text=self.text(table, f"{name}.text"),
            audio=self.audio(table, "audio", f"{name}.audio"),
            bed=self.audio(table, "bed", f"{name}.bed"),
            voice=self.string(table, "voice", f"{name}.voice"),
        )

    def string(self, table: dict[str, Any], key: str, label: str | None = None) -> str | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{label or key} must be a non-empty string")
        return value.strip()

    def strings(self, table: dict[str, Any], key: str, label: str | None = None) -> tuple[str, ...]:
        value = table.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(f"{label or key} must be a list of strings")
        return tuple(v.strip() for v in value)

    def integer(self, table: dict[str, Any], label: str, low: int, high: int) -> int:
        value = table.get(label.rsplit(".", 1)[-1])
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise self.fail(f"{label} must be a whole number from {low} to {high}, not {value!r}")
        return value

    def number(
        self,
        table: dict[str, Any],
        key: str,
        label: str,
        low: float,
        high: float,
        default: float,
        unit: str = "dB",
    ) -> float:
        value = table.get(key, default)
        if not isinstance(value, int | float) or isinstance(value, bool) or not low <= value <= high:
            raise self.fail(f"{label} must be a number of {unit} from {low:g} to {high:g}, not {value!r}")
        return float(value)

    def text(self, table: dict[str, Any], label: str) -> str | None:
        """A text to speak; its placeholders must be ones we fill."""
        value = self.string(table, "text", label)
        if value is None:
            return None
        try:
            fields = [
                (n, spec, conv) for _, n, spec, conv in string.Formatter().parse(value) if n is not None
            ]
        except ValueError as exc:
            raise self.fail(f"{label}: {exc} (write {{{{ and }}}} for braces)") from None
        known = ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
        for name, spec, conv in fields:
            if name not in PLACEHOLDERS:
                raise self.fail(f"{label}: unknown placeholder {{{name}}} (known: {known})")
            if spec or conv:  # {time:>10} or {name!r} would be read out as padding or quotes
                raise self.fail(f"{label}: write placeholders plain, like {{{name}}} (known: {known})")
        widest = {**_WIDEST, "name": len(self.title)}
        parsed = string.Formatter().parse(value)
        filled = sum(len(literal) + widest.get(n or "", 0) for literal, n, _, _ in parsed)
        if filled > MAX_TEXT_CHARS:
            raise self.fail(
                f"{label}: {filled:,} characters with its placeholders filled; at most {MAX_TEXT_CHARS:,}"
            )
        self.speakable(value, label)
        return value

    def speakable(self, value: str, label: str) -> None:
        """Control characters cannot go into the feed's XML or to a voice."""
        if any((ord(ch) < 32 and ch not in "\t\n\r") or ord(ch) == 127 for ch in value):
            raise self.fail(f"{label}: holds a control character")

    def audio(self, table: dict[str, Any], key: str, label: str) -> Path | None:
        name = self.string(table, key, label)
        if name is None:
            return None
        path = self.folder / name
        if not path.is_file():
            raise self.fail(f"{label}: no audio file {path}")
        return path

    def sources(self, data: dict[str, Any]) -> tuple[list[tuple[str, int]], dict[str, str]]:
        """``sources``: names, or tables naming a source (``url``, or ``source``) with its
        ``priority`` (extra coverage) and its ``timezone``: the sources with their
        priorities, and the zones of those that name one."""
        value = data.get("sources", [])
        entries = value if isinstance(value, list) else [value]
        found: list[tuple[str, int]] = []
        zones: dict[str, str] = {}
        shape = (
            'sources must be a list of strings or { url = "…", priority = N, timezone = "Area/City" } tables'
        )
        for entry in entries:
            if isinstance(entry, dict):
                unknown = [k for k in entry if k not in ("url", "source", "priority", "timezone")]
                if unknown:
                    raise self.fail(f"unknown key sources.{unknown[0]} (known: url, priority, timezone)")
                url = entry.get("url", entry.get("source"))
                if not isinstance(url, str) or not url.strip():
                    raise self.fail(f"a table in sources needs a url ({shape})")
                name = self.source(url.strip())
                low, high = PRIORITY_RANGE
                priority = self.integer(entry, "sources.priority", low, high) if "priority" in entry else 0
                zone = entry.get("timezone")
                if zone is not None:
                    if not isinstance(zone, str):
                        raise self.fail(f"sources: the timezone of {name} must be a string")
                    try:
                        parse_zone(zone, local=timezone.utc)
                    except ConfigError as exc:
                        raise self.fail(f"sources: {exc}") from None
                    zones[name] = zone
                found.append((name, priority))
            elif isinstance(entry, str) and entry.strip():
                found.append((self.source(entry.strip()), 0))
            else:
                raise self.fail(shape)
        return found, zones

    def source(self, value: str) -> str:
        if re.match(r"^[a-z][a-z0-9+.-]*://", value, re.IGNORECASE) or value == "-":
            return value
        return str(self.folder / value)
