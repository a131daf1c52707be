"""What decides a bulletin: :class:`BuildOptions`, five groups of options, every default written once.

The groups follow what a producer decides: what is read (:class:`SourceOptions`), who
speaks (:class:`VoiceOptions`), what the audio file is (:class:`OutputOptions`), the
programme around the stories (:class:`ProgrammeOptions`), and how the result is published
and reused (:class:`PublishOptions`). Values are in run units (seconds, not the CLI's
milliseconds); the CLI translates its flags (:func:`bulletin.cli.build_options`).

:meth:`BuildOptions.check` refuses bad values and combinations without touching a file,
so a library caller can check options anywhere; what needs the file system (the
programme file, whether an output can be written) is checked once, when the run starts
(:mod:`bulletin.run.targets`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from bulletin.audio.settings import EncodeOptions, Pauses
from bulletin.engines import EDGE_CONCURRENCY
from bulletin.errors import ConfigError
from bulletin.publish.subtitles import Layout
from bulletin.sources.fetch import FetchOptions

if TYPE_CHECKING:
    from bulletin.run.programme import Programme

ENGINES = ("auto", "edge", "offline")
#: Podcast feed items kept (``--feed-keep``).
FEED_KEEP = 20
#: How much of the start ``bulletin preview`` plays by default, in seconds.
PREVIEW_SECONDS = 20.0
#: Every source's requests (feeds, pages, item pages) end within this, in seconds: one
#: budget for the run's sources, counted from the first request.
SOURCE_TIMEOUT = 20.0
#: One request (connect, headers and body) ends within this, in seconds.
REQUEST_TIMEOUT = 10.0


@dataclass(frozen=True)
class SourceOptions:
    """What is read: the articles (files, ``-``, folders, feed and page URLs) and how."""

    articles: tuple[str, ...] = ()
    #: Force the input encoding (``--encoding``); None: detected.
    encoding: str | None = None
    #: ``--since``: a duration (12h) or a date and time; older feed items and pages are skipped.
    since: str | None = None
    max_stories: int | None = None
    #: ``--order``: "given" or "importance" (coverage, then recency); None: a programme's
    #: ``[rundown] order``, else "given" (:mod:`bulletin.run.editorial`).
    order: str | None = None
    #: ``--story-seconds``: each story cut at a sentence end to about this long; None: a
    #: programme's ``[stories] max_seconds``, else whole.
    story_seconds: float | None = None
    #: Read articles about the same event once (``--no-fold``: one story per article).
    same_story: bool = True
    #: Read each headline as its story's first sentence (the behaviour before issue 9).
    keep_headlines: bool = False
    #: Seconds for all the sources' requests.
    timeout: float = SOURCE_TIMEOUT
    #: Let feeds and pages lead to private, loopback and link-local addresses (``--allow-private``).
    allow_private: bool = False
    #: ``--source-timezone``: the zone of feeds' and pages' times given without an offset,
    #: when the source itself does not tell (bulletin.sources.zones); default the machine's.
    timezone: str | None = None

    def zone(self) -> tzinfo | None:
        """``timezone`` as a zone (None when not given)."""
        from bulletin.text.airtime import parse_zone

        return None if self.timezone is None else parse_zone(self.timezone, local=timezone.utc)

    @property
    def fetch(self) -> FetchOptions:
        """How feeds and pages are fetched."""
        return FetchOptions(
            timeout=self.timeout,
            request_timeout=min(REQUEST_TIMEOUT, self.timeout),
            allow_private=self.allow_private,
        )

    def since_time(self, now: datetime) -> datetime | None:
        """``since`` as a time, counted back from ``now`` when it is a duration."""
        from bulletin.sources.gather import parse_since

        return parse_since(self.since, now) if self.since else None


@dataclass(frozen=True)
class VoiceOptions:
    """Who speaks and how: the engine, a preset or voice name, prosody, and the lexicons."""

    engine: str = "auto"
    #: A preset, an Edge ShortName or an offline voice; None: the preset follows the script.
    name: str | None = None
    rate: str | None = None
    volume: str | None = None
    pitch: str | None = None
    #: Edge requests at once.
    concurrency: int = EDGE_CONCURRENCY
    #: Pronunciation lexicons (``--lexicon``), the later winning; over the user's and the shipped one.
    lexicons: tuple[str, ...] = ()
    #: The news lexicon shipped with bulletin (``--no-default-lexicon``: False).
    default_lexicon: bool = True


@dataclass(frozen=True)
class OutputOptions:
    """The audio file and what goes with it: name, tags, subtitles, pauses, encoding."""

    #: The MP3 (``-`` for stdout; may be a template); None: named after the first article.
    path: str | None = None
    title: str | None = None
    author: str | None = None
    #: An ``.srt`` or ``.vtt`` file written beside the MP3.
    subtitles: str | None = None
    subtitle_layout: Layout = field(default_factory=Layout)
    pauses: Pauses = field(default_factory=Pauses)
    encode: EncodeOptions = field(default_factory=EncodeOptions)

    @property
    def to_stdout(self) -> bool:
        return self.path == "-"


@dataclass(frozen=True)
class ProgrammeOptions:
    """The programme around the stories (``--programme``) and when it airs."""

    #: A programme file: opener, headlines, stings, closer, fitted to a slot.
    file: str | None = None
    #: When it airs (21:00, an ISO datetime, next-hour; None: now) and in which time zone
    #: (None: the machine's): the spoken time, the feed item's and the ID3 date.
    air_time: str | None = None
    timezone: str | None = None

    def air(self, now: datetime, local: tzinfo) -> datetime:
        """The air time: ``air_time`` read against ``now`` in ``timezone``, else in ``local``."""
        from bulletin.text.airtime import parse_air_time, parse_zone

        return parse_air_time(self.air_time, now, parse_zone(self.timezone, local=local))

    @property
    def timed(self) -> bool:
        """Is the bulletin's time an air time rather than now?"""
        return bool(self.file or self.air_time or self.timezone)


@dataclass(frozen=True)
class PublishOptions:
    """How the result is published and reused: the feed, the report, the lock, the cache."""

    feed: str | None = None
    #: The URL of the folder the MP3 is served from (needed with a feed).
    base_url: str | None = None
    feed_keep: int = FEED_KEEP
    #: A JSON run report written whatever happens.
    report: str | None = None
    #: Seconds to wait for another run on the same output.
    lock_timeout: float = 0.0
    #: Rebuild even when the articles and settings are unchanged.
    force: bool = False
    #: Read and write the chunk cache; in ``cache_dir`` rather than the user cache folder.
    cache: bool = True
    cache_dir: str | None = None


@dataclass(frozen=True)
class BuildOptions:
    """Everything that decides a bulletin. The defaults here are the CLI's defaults."""

    sources: SourceOptions = field(default_factory=SourceOptions)
    voice: VoiceOptions = field(default_factory=VoiceOptions)
    output: OutputOptions = field(default_factory=OutputOptions)
    programme: ProgrammeOptions = field(default_factory=ProgrammeOptions)
    publish: PublishOptions = field(default_factory=PublishOptions)

    @property
    def template(self) -> str:
        """The output name as given (maybe a template), or one made from the first article's."""
        if self.output.path:
            return self.output.path
        articles = self.sources.articles
        first = articles[0] if articles else "-"
        return "bulletin.mp3" if first == "-" or is_url(first) else Path(first).with_suffix(".mp3").name

    def under(self, programme: Programme | None) -> BuildOptions:
        """These options with the programme's defaults filled in (what the options leave unsaid).

        The programme's sources are read when no article is named, its ``max_stories``
        and ``voice`` when the options do not say.
        """
        if programme is None:
            return self
        return replace(
            self,
            sources=replace(
                self.sources,
                articles=self.sources.articles or programme.sources,
                max_stories=self.sources.max_stories or programme.max_stories,
            ),
            voice=replace(self.voice, name=self.voice.name or programme.voice),
        )

    def check(self) -> None:
        """Refuse bad values and combinations before any work; reads no file.

        With a programme, the articles may still come from its file: that is checked when
        the run reads it (:func:`bulletin.run.targets.check_targets`).
        """
        sources, out, pub = self.sources, self.output, self.publish
        if not sources.articles and not self.programme.file:
            raise ConfigError(
                "name at least one article (a file, folder, feed or page), or a programme with sources"
            )
        if self.voice.engine not in ENGINES:
            raise ConfigError(f"unknown engine {self.voice.engine!r} (auto, edge or offline)")
        if pub.feed and not pub.base_url:
            raise ConfigError("--feed needs --base-url (the URL of the folder the MP3 is served from)")
        if pub.base_url and not re.match(r"^https?://[^/\s]+", pub.base_url):
            raise ConfigError(f"--base-url {pub.base_url!r}: give an http:// or https:// URL")
        if pub.feed and out.to_stdout:
            raise ConfigError("--feed cannot be used with -o - (the feed needs a published file)")
        if out.subtitles and Path(out.subtitles).suffix.lower() not in (".srt", ".vtt"):
            raise ConfigError(f"--subtitles {out.subtitles}: the name must end in .srt or .vtt")
        out.subtitle_layout.check()
        if sources.max_stories is not None and sources.max_stories < 1:
            raise ConfigError(f"--max-stories {sources.max_stories}: give 1 or more")
        if sources.order is not None and sources.order not in ("given", "importance"):
            raise ConfigError(f"--order {sources.order!r}: give given or importance")
        if sources.story_seconds is not None and not (5 <= sources.story_seconds <= 600):
            raise ConfigError(f"--story-seconds {sources.story_seconds:g}: give seconds from 5 to 600")
        if not (0 < sources.timeout <= 600):
            raise ConfigError(
                f"--source-timeout {sources.timeout:g}: give seconds, more than 0 and at most 600"
            )
        sources.since_time(datetime.now().astimezone())  # a bad --since is refused before any work
        self.programme.air(datetime.now(timezone.utc), timezone.utc)  # and a bad --air-time or --timezone
        sources.zone()  # and a bad --source-timezone


#: The defaults, for the CLI to show and use (``DEFAULTS.voice.concurrency``, ...).
DEFAULTS = BuildOptions()


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))
