"""What one run is handed, made once: options, folders, clock, console, engines, the programme.

:meth:`Run.make` is where the environment is read for a run (folders, endpoints, the
user's lexicon, the local zone) and where the programme file is read: once, its defaults
merged into the options. Build, dry run, preview and ``clean`` all start here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from bulletin import environment
from bulletin.engines.base import Engine
from bulletin.environment import Dirs
from bulletin.errors import ConfigError
from bulletin.run.choose import EngineFactory, MakeEngine
from bulletin.run.options import BuildOptions
from bulletin.run.presets import Preset, resolve
from bulletin.text.lexicon import Lexicon, merged

if TYPE_CHECKING:
    from bulletin.publish.state import Records
    from bulletin.run.cache import ClipCache
    from bulletin.run.programme import Programme
    from bulletin.run.speak import FanOut
    from bulletin.text.pipeline import CleanText

Clock = Callable[[], datetime]


class Console(Protocol):
    """Where a run reports to (the CLI's console; tests may pass their own)."""

    def info(self, message: str) -> None: ...
    def detail(self, message: str) -> None: ...
    def progress(self, done: int, total: int, audio_seconds: float) -> None: ...


class Silent:
    """A console that says nothing (library use)."""

    def info(self, message: str) -> None:
        pass

    def detail(self, message: str) -> None:
        pass

    def progress(self, done: int, total: int, audio_seconds: float) -> None:
        pass


def local_now() -> datetime:
    return datetime.now().astimezone()


@dataclass
class Run:
    """What one run was handed: options, folders, clock, console, and the engine if given."""

    options: BuildOptions
    dirs: Dirs
    console: Console
    clock: Clock
    engine: Engine | None = None
    endpoints: environment.Endpoints = environment.Endpoints()
    engines: MakeEngine | None = None
    #: The user's lexicon file (read, if it is there, when the lexicon is first wanted).
    user_lexicon: Path | None = None
    #: The checked programme (``--programme``), its defaults already in ``options``.
    programme: Programme | None = None
    #: The machine's time zone (for ``--air-time``); the clock's own when a clock is given.
    local_zone: tzinfo = timezone.utc
    #: A station group's fan-out: a programme's missing chunks made by other processes.
    fan_out: FanOut | None = None
    #: Where the run records are kept when not in the state folder (a station group's Redis).
    records: Records | None = None
    _lexicon: Lexicon | None = field(default=None, repr=False)

    @classmethod
    def make(
        cls,
        options: BuildOptions,
        console: Console | None = None,
        *,
        engine: Engine | None = None,
        dirs: Dirs | None = None,
        clock: Clock | None = None,
        engines: MakeEngine | None = None,
    ) -> Run:
        """Read the programme file (once) and the environment (once) for this run."""
        programme = None
        if options.programme.file:
            from bulletin.run.programme import load_programme

            programme = load_programme(options.programme.file)
        options = options.under(programme)
        if not options.sources.articles:
            raise ConfigError(
                "name at least one article (a file, folder, feed or page), or a programme with sources"
            )
        found = dirs or environment.dirs()
        if options.publish.cache_dir:
            found = replace(found, cache=Path(options.publish.cache_dir), cache_url=None)
        zone = (clock().tzinfo if clock is not None else None) or environment.local_zone()
        return cls(
            options,
            found,
            console or Silent(),
            clock or local_now,
            engine,
            environment.endpoints() if engine is None and engines is None else environment.Endpoints(),
            engines,
            environment.user_lexicon(),
            programme,
            zone,
        )

    def when(self) -> datetime:
        """The bulletin's time: the air time (``--air-time``, a programme's: now in its zone), else now."""
        now = self.clock()
        if self.options.programme.timed:
            return self.options.programme.air(now if now.tzinfo else now.astimezone(), self.local_zone)
        return now

    @property
    def lexicon(self) -> Lexicon:
        """Shipped, user's and ``--lexicon`` entries merged, once (InputError for a bad file)."""
        if self._lexicon is None:
            self._lexicon = lexicon_for(self.options, self.user_lexicon)
        return self._lexicon

    @property
    def cache(self) -> ClipCache | None:
        from bulletin.run.cache import open_cache

        return open_cache(self.dirs) if self.options.publish.cache else None

    @property
    def factory(self) -> MakeEngine:
        if self.engines is not None:
            return self.engines
        return EngineFactory(self.options.voice.concurrency, self.endpoints, self.dirs.data)

    def preset(self, clean: CleanText) -> Preset:
        """The run's voice: ``--voice`` (or the programme's), else the preset the script calls for."""
        voice = self.options.voice
        return resolve(
            voice.name, script=clean.script, rate=voice.rate, volume=voice.volume, pitch=voice.pitch
        )

    def warn(self, message: str) -> None:
        self.console.info(f"warning: {message}")


def lexicon_for(options: BuildOptions, user: Path | None) -> Lexicon:
    """The run's lexicon: the shipped one (unless turned off), the user's, then ``--lexicon`` files."""
    return merged(options.voice.lexicons, user=user, default=options.voice.default_lexicon)
