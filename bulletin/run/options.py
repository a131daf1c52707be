"""What decides a bulletin: :class:`BuildOptions`, with every default written once.

The CLI's ``--help`` defaults are read from :data:`DEFAULTS` (and the audio defaults from
:class:`~bulletin.audio.settings.Pauses` and :class:`~bulletin.audio.settings.EncodeOptions`),
so a default changed here changes everywhere. Options are checked before any work is
done: a bad output name or an unwritable folder is refused before anything is synthesized.
"""

from __future__ import annotations

import os
import re
import stat
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bulletin.audio.settings import EncodeOptions, Pauses
from bulletin.engines import EDGE_CONCURRENCY
from bulletin.errors import ConfigError, InputError
from bulletin.files import longest_name
from bulletin.publish.names import render_output_path, widest_output_path
from bulletin.publish.subtitles import CUE_LINES, LINE_CHARS, Layout
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
class BuildOptions:
    """Everything that decides a bulletin. The defaults here are the CLI's defaults."""

    articles: tuple[str, ...]
    output: str | None = None
    engine: str = "auto"
    voice: str | None = None
    rate: str | None = None
    volume: str | None = None
    pitch: str | None = None
    concurrency: int = EDGE_CONCURRENCY
    encoding: str | None = None
    #: Read articles about the same event once (``--no-fold``: one story per article).
    same_story: bool = True
    title: str | None = None
    author: str | None = None
    subtitles: str | None = None
    subtitle_chars: int = LINE_CHARS
    subtitle_lines: int = CUE_LINES
    pauses: Pauses = field(default_factory=Pauses)
    encode: EncodeOptions = field(default_factory=EncodeOptions)
    cache_dir: str | None = None
    use_cache: bool = True
    lock_timeout: float = 0.0
    force: bool = False
    report: str | None = None
    feed: str | None = None
    base_url: str | None = None
    feed_keep: int = FEED_KEEP
    #: ``--since``: a duration (12h) or a date and time; older feed items and pages are skipped.
    since: str | None = None
    max_stories: int | None = None
    #: Read each headline as its story's first sentence (the behaviour before issue 9).
    keep_headlines: bool = False
    source_timeout: float = SOURCE_TIMEOUT
    #: Let feeds and pages lead to private, loopback and link-local addresses (``--allow-private``).
    allow_private: bool = False
    #: Pronunciation lexicons (``--lexicon``), the later winning; over the user's and the shipped one.
    lexicon: tuple[str, ...] = ()
    default_lexicon: bool = True  # the news lexicon shipped with bulletin (``--no-default-lexicon``)
    #: A programme file (``--programme``): opener, headlines, stings, closer, fitted to a slot.
    programme: str | None = None
    #: When the bulletin airs (``--air-time``: 21:00, an ISO datetime, next-hour; default now)
    #: and in which time zone (``--timezone``, default the machine's): the spoken time,
    #: the feed item's and the ID3 date.
    air_time: str | None = None
    timezone: str | None = None

    @classmethod
    def from_cli(cls, *, articles: Sequence[str], **opts: Any) -> BuildOptions:
        """Build options from the CLI's keyword arguments (pauses in milliseconds, flags, ...).

        An option name that is not known is an error (a typo must not be dropped silently).
        """
        pauses = Pauses(
            sentence=opts.pop("pause_sentence", DEFAULT_PAUSE_MS["sentence"]) / 1000,
            paragraph=opts.pop("pause_paragraph", DEFAULT_PAUSE_MS["paragraph"]) / 1000,
            story=opts.pop("pause_story", DEFAULT_PAUSE_MS["story"]) / 1000,
        )
        encode = EncodeOptions(
            loudness=opts.pop("loudness", DEFAULTS.encode.loudness),
            bitrate=opts.pop("bitrate", DEFAULTS.encode.bitrate),
        )
        use_cache = not opts.pop("no_cache", False)
        default_lexicon = not opts.pop("no_default_lexicon", False)
        opts["lexicon"] = tuple(opts.get("lexicon") or ())
        names = {f.name for f in fields(cls)}
        unknown = sorted(k for k in opts if k not in names)
        if unknown:
            raise ConfigError(f"unknown build option(s): {', '.join(unknown)}")
        defaults = {k: v for k, v in opts.items() if v is not None or k in _NULLABLE}
        options = cls(
            articles=tuple(articles),
            pauses=pauses,
            encode=encode,
            use_cache=use_cache,
            default_lexicon=default_lexicon,
            **defaults,
        )
        options.check()
        return options

    @property
    def subtitle_layout(self) -> Layout:
        """What a subtitle cue may hold (``--subtitle-chars``, ``--subtitle-lines``)."""
        return Layout(chars=self.subtitle_chars, lines=self.subtitle_lines)

    @property
    def to_stdout(self) -> bool:
        return self.output == "-"

    @property
    def template(self) -> str:
        """The output name as given (maybe a template), or one made from the first article's."""
        if self.output:
            return self.output
        first = self.articles[0] if self.articles else "-"
        return "bulletin.mp3" if first == "-" or _is_url(first) else Path(first).with_suffix(".mp3").name

    def under_programme(self) -> tuple[BuildOptions, Programme | None]:
        """These options with the programme's defaults filled in, and the checked programme.

        The programme's sources are read when no article is named, its ``max_stories``
        and ``voice`` when the options do not say.
        """
        if not self.programme:
            return self, None
        from bulletin.run.programme import load_programme

        programme = load_programme(self.programme)
        merged = replace(
            self,
            articles=self.articles or programme.sources,
            max_stories=self.max_stories or programme.max_stories,
            voice=self.voice or programme.voice,
        )
        return merged, programme

    def air(self, now: datetime, local: tzinfo) -> datetime:
        """The air time: ``--air-time`` read against ``now`` in ``--timezone``, else in ``local``."""
        from bulletin.text.airtime import parse_air_time, parse_zone

        return parse_air_time(self.air_time, now, parse_zone(self.timezone, local=local))

    def since_time(self, now: datetime) -> datetime | None:
        """``--since`` as a time, counted back from ``now`` when it is a duration."""
        from bulletin.sources.gather import parse_since

        return parse_since(self.since, now) if self.since else None

    @property
    def fetch(self) -> FetchOptions:
        """How feeds and pages are fetched."""
        return FetchOptions(
            timeout=self.source_timeout,
            request_timeout=min(REQUEST_TIMEOUT, self.source_timeout),
            allow_private=self.allow_private,
        )

    def check(self) -> None:
        """Refuse bad combinations, output names and folders before any work is done."""
        if self.programme:
            merged, _ = self.under_programme()
            replace(merged, programme=None).check()
            return
        if not self.articles:
            raise ConfigError(
                "name at least one article (a file, folder, feed or page), or a programme with sources"
            )
        if self.engine not in ENGINES:
            raise ConfigError(f"unknown engine {self.engine!r} (auto, edge or offline)")
        if self.feed and not self.base_url:
            raise ConfigError("--feed needs --base-url (the URL of the folder the MP3 is served from)")
        if self.base_url and not re.match(r"^https?://[^/\s]+", self.base_url):
            raise ConfigError(f"--base-url {self.base_url!r}: give an http:// or https:// URL")
        if self.feed and self.to_stdout:
            raise ConfigError("--feed cannot be used with -o - (the feed needs a published file)")
        if self.subtitles and Path(self.subtitles).suffix.lower() not in (".srt", ".vtt"):
            raise ConfigError(f"--subtitles {self.subtitles}: the name must end in .srt or .vtt")
        self.subtitle_layout.check()
        if self.max_stories is not None and self.max_stories < 1:
            raise ConfigError(f"--max-stories {self.max_stories}: give 1 or more")
        if not (0 < self.source_timeout <= 600):
            raise ConfigError(
                f"--source-timeout {self.source_timeout:g}: give seconds, more than 0 and at most 600"
            )
        self.since_time(datetime.now().astimezone())  # a bad --since is refused before any work
        self.air(datetime.now(timezone.utc), timezone.utc)  # and a bad --air-time or --timezone
        self._check_outputs()

    def _check_outputs(self) -> None:
        if self.to_stdout and sys.stdout is None:  # started with stdout closed (``>&-``)
            raise ConfigError("-o -: stdout is closed; redirect it to a file or name the MP3 file")
        if self.to_stdout and sys.stdout.isatty():
            raise ConfigError("-o - would write MP3 to a terminal; redirect stdout or name a file")
        named: list[tuple[str, str | None]] = []
        if self.output and not self.to_stdout:
            probe = render_output_path(
                self.output, when=datetime.now().astimezone(), title="probe", voice="voice", engine="edge"
            )
            if probe.is_dir() or self.output.endswith(("/", "\\")):
                raise InputError(f"-o {self.output}: is a folder; name the MP3 file to write")
            named.append(("-o", str(probe)))
            _check_name_length("-o", widest_output_path(self.output), self.output)
        named += [("--subtitles", self.subtitles), ("--feed", self.feed), ("--report", self.report)]
        seen: dict[str, str] = {
            os.path.realpath(a): f"article {a}" for a in self.articles if a != "-" and not _is_url(a)
        }
        # a folder is read whole, every run: an output in it would overwrite an article, or
        # be read back as one next time (the feed's old items as new stories)
        folders = {real: label for real, label in seen.items() if os.path.isdir(real)}
        for label, value in named:
            if not value:
                continue
            folder = os.path.realpath(os.path.dirname(os.path.abspath(value)))
            if folder in folders:
                raise InputError(
                    f"{label} {value}: is in the {folders[folder]}, which is read as articles; "
                    "write outputs to another folder"
                )
            if Path(value).is_dir():
                raise InputError(f"{label} {value}: is a folder, not a file")
            if _special(Path(value)):
                raise InputError(
                    f"{label} {value}: is not a regular file (a device, pipe or socket); name a file"
                )
            _check_name_length(label, Path(value))
            if not _writable_folder(Path(value)):
                raise InputError(f"{label} {value}: cannot write in {Path(value).absolute().parent}")
            real = os.path.realpath(value)
            if real in seen:  # an output over an input, or two outputs in one file
                raise InputError(f"{label} {value}: is the same file as {seen[real]}; name another file")
            seen[real] = f"{label} {value}"


#: Options whose None is meaningful rather than "use the default".
_NULLABLE = frozenset(
    {"output", "voice", "rate", "volume", "pitch", "encoding", "title", "author", "subtitles"}
    | {"cache_dir", "report", "feed", "base_url", "since", "max_stories", "programme", "air_time", "timezone"}
)

#: The defaults, for the CLI to show and use (``DEFAULTS.concurrency``, ...).
DEFAULTS = BuildOptions(articles=())
#: The pause defaults in milliseconds, as the CLI takes them.
DEFAULT_PAUSE_MS = {k: round(DEFAULTS.pauses.after(k) * 1000) for k in ("sentence", "paragraph", "story")}


def _check_name_length(label: str, path: Path, template: str | None = None) -> None:
    """Refuse a name too long to publish (its temp file's name would be over the limit).

    A template is checked as its widest rendering (a full-length Chinese ``{slug}``).
    """
    size, room = len(os.fsencode(path.name)), longest_name(path)
    if size > room:
        shown = (
            f"{template}: rendered, the file name can be" if template else f"{path.name}: the file name is"
        )
        raise InputError(f"{label} {shown} too long ({size} bytes; at most {room} here)")


def _special(path: Path) -> bool:
    """Is ``path`` (or what a link there points at) something other than a regular file?

    Publishing renames a new file over the target, which would replace a device node or a
    pipe with a regular file: such targets are refused (``-o -`` is how to write a stream).
    """
    hop = path.absolute()
    for _ in range(40):  # a link through /dev or /proc (such as /proc/self/fd/1) is a stream
        if not hop.is_symlink():
            break
        hop = hop.parent / os.readlink(hop)
        if str(hop).startswith(("/dev/", "/proc/")):
            return True
    try:
        mode = path.stat().st_mode
    except OSError:
        return False  # not there yet (or a dangling link): a regular file will be made
    return not stat.S_ISREG(mode)


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def _writable_folder(path: Path) -> bool:
    """Can ``path`` be created: is its nearest existing folder writable (it may not exist yet)?"""
    folder = path.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:  # try it: permission bits say nothing for root, or on /proc and read-only mounts
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False
