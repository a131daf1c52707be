"""One bulletin run, start to finish, as a library call (the CLI only parses options).

:func:`run_build` is the sequence; each step is one call:

    read (sources → articles) → voice → lock → unchanged? → engine → plan
         → clips (cache / engine, streamed) → assemble → tags
         → publish (MP3, subtitles, feed: one set) → state → report

A caller may hand in the engine, the folders and the clock (tests use an in-memory
engine and a fixed time); by default the environment is read once, here, through
:mod:`bulletin.environment`.

Failures are :class:`~bulletin.errors.BulletinError`; the previous bulletin, feed and
subtitles stay byte-identical, because nothing is renamed into place before every step
that can fail has succeeded.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bulletin import environment
from bulletin.audio.timeline import Assembly
from bulletin.engines.base import Clip, Engine
from bulletin.environment import Dirs
from bulletin.errors import BulletinError, EngineUnavailable, InputError, PublishError, SynthesisError
from bulletin.files import sweep_temp_dirs, temp_dir
from bulletin.run import outputs
from bulletin.run.cache import ClipCache
from bulletin.run.choose import (
    Choice,
    EngineFactory,
    MakeEngine,
    announce_model_install,
    choose,
    fall_back,
    may_fall_back,
)
from bulletin.run.options import BuildOptions
from bulletin.run.presets import Preset, resolve
from bulletin.run.report import InputInfo, RunReport
from bulletin.run.reuse import assemble_or_reuse
from bulletin.run.speak import Plan, Planner, clips_in_order
from bulletin.sources.gather import Gathered, read_sources
from bulletin.text.lexicon import Lexicon, merged
from bulletin.text.pipeline import CleanText, NothingUsable, clean_articles, estimate_seconds, limit_stories

if TYPE_CHECKING:
    from bulletin.publish.state import RunState

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

    @classmethod
    def make(
        cls,
        options: BuildOptions,
        console: Console | None,
        engine: Engine | None,
        dirs: Dirs | None,
        clock: Clock | None,
        engines: MakeEngine | None = None,
    ) -> Run:
        found = dirs or environment.dirs()
        if options.cache_dir:
            found = Dirs(cache=Path(options.cache_dir), state=found.state, data=found.data)
        return cls(
            options,
            found,
            console or Silent(),
            clock or local_now,
            engine,
            environment.endpoints() if engine is None and engines is None else environment.Endpoints(),
            engines,
            environment.user_lexicon(),
        )

    @property
    def lexicon(self) -> Lexicon:
        """Shipped, user's and ``--lexicon`` entries merged (InputError for a bad file)."""
        return lexicon_for(self.options, self.user_lexicon)

    @property
    def cache(self) -> ClipCache | None:
        return ClipCache(self.dirs.cache) if self.options.use_cache else None

    @property
    def factory(self) -> MakeEngine:
        if self.engines is not None:
            return self.engines
        return EngineFactory(self.options.concurrency, self.endpoints, self.dirs.data)


# --------------------------------------------------------------------------- the sequence


def run_build(
    options: BuildOptions,
    console: Console | None = None,
    *,
    engine: Engine | None = None,
    engines: MakeEngine | None = None,
    dirs: Dirs | None = None,
    clock: Clock | None = None,
) -> RunReport:
    """Make and publish one bulletin; returns the run's report (also written with ``--report``).

    ``engine``: speak with this engine, no choice and no fallback. ``engines``: make the
    engines by name through this instead (``--engine auto`` and the fallback still apply).
    ``dirs`` and ``clock`` default to the environment's folders and the local time.
    """
    run = Run.make(options, console, engine, dirs, clock, engines)
    report = RunReport(engine_requested=options.engine)
    try:
        options.check()  # before any work, for library callers too (the CLI checked already)
        sweep_temp_dirs()  # what runs killed with SIGKILL left in the temp folder
        try:
            _build(run, report)
        except BrokenPipeError:
            raise
        except OSError as exc:  # the machine said no (a full disk, ``ulimit -f``, EIO): not a bug
            raise PublishError(_os_error(exc)) from exc
        report.finish(0)
        return report
    except BulletinError as exc:
        report.fail(str(exc))
        report.finish(exc.exit_code)
        raise
    except KeyboardInterrupt:
        report.fail("interrupted")
        report.finish(130)
        raise
    except BrokenPipeError:
        report.fail("stdout was closed before the whole MP3 was written")
        report.finish(141)
        raise
    except Exception as exc:  # a bug: the report still says what happened
        report.fail(f"internal error: {type(exc).__name__}: {exc}")
        report.finish(1)
        raise
    finally:
        if options.report:
            try:
                report.write(Path(options.report))
            except BulletinError as exc:
                run.console.info(f"warning: could not write the report: {exc}")


def _os_error(exc: OSError) -> str:
    where = f" ({exc.filename})" if exc.filename else ""
    return f"the system refused a file operation: {exc.strerror or exc}{where}"


def _build(run: Run, report: RunReport) -> None:
    options, console = run.options, run.console
    when = run.clock()
    clean = _read(run, report)
    if clean is None:
        return
    preset = _resolve(options, clean)
    title = options.title or outputs.default_title(clean)
    with outputs.locked(options):
        lexicon = run.lexicon
        state, fingerprint = _state(run, clean, preset, lexicon)
        if _unchanged(run, report, state, fingerprint, preset):
            return
        if options.feed:  # a broken feed or text XML cannot hold is refused now, not after synthesis
            outputs.check_feed(options, title, clean, when)
        cache, planner = run.cache, Planner(clean, lexicon)
        with report.stage("engine"):
            choice = choose(
                options.engine,
                preset,
                run.factory,
                given=run.engine,
                all_cached=lambda engine, p: planner(engine, p.settings).all_cached(cache),
            )
        with temp_dir("work") as work:
            mp3 = Path(work) / "bulletin.mp3"
            choice, assembly = _speak_and_assemble(run, report, planner, cache, choice, mp3)
            outputs.write_tags(mp3, assembly, clean, title, options.author, when)
            output, guid = _publish(options, mp3, assembly, when, title, choice, clean)
            size = mp3.stat().st_size
        if output is not None:
            _record(run, state, fingerprint, output, assembly, choice, guid)
    report.output.path = str(output) if output else "-"
    report.output.size = size
    report.output.duration_seconds = round(assembly.duration, 2)
    minutes, seconds = divmod(assembly.duration, 60)
    console.info(
        f"wrote {output or 'stdout'}: {int(minutes)}:{seconds:04.1f}, {choice.engine.name} voice "
        f"{choice.voice.voice}, {report.chunks.synthesized} chunks synthesized, "
        f"{report.chunks.cached} from cache"
    )


# --------------------------------------------------------------------------- the steps


def _read(run: Run, report: RunReport) -> CleanText | None:
    """Read the sources, repair and deduplicate the articles; None when there is no new story.

    The report lists every source (failed ones too) and what was read and removed.
    """
    with report.stage("read"):
        gathered = gather(run)
        try:
            clean = clean_sources(run, gathered)
        finally:  # failed sources and skipped items are in the report whatever happens next
            report.sources = [s.to_dict() for s in gathered.sources]
        for s in gathered.sources:
            run.console.detail(f"source {s.source}: {s.kind}, {s.status}, {s.items} read, {s.skipped} older")
    if clean is None:
        report.no_new_stories = True
        since = f" since {run.options.since}" if run.options.since else ""
        run.console.info(f"no new stories{since}; nothing published (the last bulletin stays)")
        return None
    report.inputs = [InputInfo(a.source, a.encoding, a.sha256, a.size) for a in clean.articles]
    report.removed_duplicates = clean.removed.to_dict()
    report.folded = clean.folds()
    for line in clean.fold_lines():
        run.console.detail(line)
    r = clean.removed
    run.console.detail(
        f"read {len(clean.articles)} article(s): {clean.characters} characters kept; removed {r.sentences} "
        f"repeated sentences, {r.fragments} fragments, {r.stories} repeated stories"
    )
    return clean


def gather(run: Run) -> Gathered:
    """Every source read into articles (feeds and pages fetched at once), in the order given."""
    options = run.options
    return read_sources(
        options.articles,
        encoding=options.encoding,
        since=options.since_time(run.clock()),
        state=run.dirs.state,
        fetch=options.fetch,
        warn=lambda message: run.console.info(f"warning: {message}"),
    )


def clean_sources(run: Run, gathered: Gathered) -> CleanText | None:
    """The articles cleaned (``--keep-headlines``, ``--max-stories``); None if there are none.

    Raises :class:`~bulletin.errors.SourcesFailed` (exit 75) when every source failed.
    """
    gathered.check()
    if not gathered.articles:
        return None
    options = run.options
    try:
        clean = clean_articles(
            gathered.articles, keep_headlines=options.keep_headlines, same_story=options.same_story
        )
    except NothingUsable as exc:  # only feed items or folder files with nothing to say
        _note_dropped(run, gathered, exc.dropped)
        return None
    _note_dropped(run, gathered, clean.dropped)
    return limit_stories(clean, options.max_stories)


def _note_dropped(run: Run, gathered: Gathered, dropped: tuple[tuple[str, str], ...]) -> None:
    """A warning, and a line in its source's report, for each item skipped as unspeakable."""
    by_origin = {s.source: s for s in gathered.sources}
    origins = {a.source: a.origin for a in gathered.articles}
    for source, why in dropped:
        line = f"{source}: {why}"
        run.console.info(f"warning: skipped {line}")
        report = by_origin.get(origins.get(source) or "")
        if report is not None:
            report.warnings.append(line)
            report.items = max(0, report.items - 1)


def _resolve(options: BuildOptions, clean: CleanText) -> Preset:
    return resolve(
        options.voice, script=clean.script, rate=options.rate, volume=options.volume, pitch=options.pitch
    )


def lexicon_for(options: BuildOptions, user: Path | None) -> Lexicon:
    """The run's lexicon: the shipped one (unless turned off), the user's, then ``--lexicon`` files."""
    return merged(options.lexicon, user=user, default=options.default_lexicon)


def _state(run: Run, clean: CleanText, preset: Preset, lexicon: Lexicon) -> tuple[RunState, str]:
    """The run-state records, and the fingerprint of this text and these settings."""
    from bulletin.publish.state import RunState, fingerprint

    warn = lambda message: run.console.info(f"warning: {message}")  # noqa: E731
    return RunState(run.dirs.state, warn), fingerprint(
        clean.text, outputs.settings_fingerprint(run.options, preset, lexicon.digest())
    )


def _unchanged(run: Run, report: RunReport, state: RunState, fingerprint: str, preset: Preset) -> bool:
    """Is the last bulletin of this output still what these articles and settings make?

    A bulletin that fell back to the offline voice is redone once Edge is wanted again.
    """
    options = run.options
    if options.to_stdout or options.force:
        return False
    from bulletin.publish.state import output_key

    record = state.unchanged(output_key(options.template), fingerprint)
    retry_edge = options.engine == "auto" and preset.engine == "edge"
    fell_back = retry_edge and (record or {}).get("extra", {}).get("engine") == "offline"
    if record is None or fell_back or not outputs.companions_intact(record):
        return False
    report.skipped_unchanged = report.output.path = record["output"]
    run.console.info(f"unchanged: {record['output']} is up to date (use --force to rebuild)")
    return True


def _speak_and_assemble(
    run: Run, report: RunReport, planner: Planner, cache: ClipCache | None, choice: Choice, mp3: Path
) -> tuple[Choice, Assembly]:
    """Synthesize (or take from the cache) and assemble, streamed, into ``mp3``.

    With ``--engine auto``, an Edge that fails for good (after its retries) or turns out
    unreachable does not end the run: the *whole* bulletin is made again with the offline
    voice (never a mix of the two), and the report says why.
    """
    try:
        return choice, _assemble(run, report, planner, cache, choice, mp3)
    except (SynthesisError, EngineUnavailable) as exc:
        if not may_fall_back(run.options.engine, choice):
            raise
        why = f"Edge failed ({exc})"
    run.console.info(f"{why}; making the whole bulletin with the offline voice instead")
    report.chunks.synthesized = report.chunks.cached = report.chunks.total = 0
    choice = fall_back(choice.preset, run.factory, why)
    return choice, _assemble(run, report, planner, cache, choice, mp3)


def _assemble(
    run: Run, report: RunReport, planner: Planner, cache: ClipCache | None, choice: Choice, mp3: Path
) -> Assembly:
    """One engine's bulletin: its plan, its clips as they come, assembled into ``mp3``.

    The report's ``synthesize`` stage is the wall time until the last clip arrived and
    ``assemble`` the time after it until the MP3 is finished (they overlap by design).
    """
    report.engine_used, report.voice = choice.engine.name, asdict(choice.voice)
    report.fallback_reason = choice.fallback_reason
    run.console.info(f"engine: {choice.engine.name} ({choice.why}); voice: {choice.voice.voice}")
    announce_model_install(choice.engine, run.console, run.dirs.data, choice.voice)
    plan = planner(choice.engine, choice.voice)
    _list_unspoken(run, report, choice.engine, plan)
    started = time.perf_counter()
    last_clip = [started]

    def timed(clips: Iterator[Clip]) -> Generator[Clip, None, None]:
        for clip in clips:
            yield clip
            last_clip[0] = time.perf_counter()

    clips = timed(clips_in_order(plan, choice.engine, choice.voice, cache, report.chunks, run.console))
    try:
        assembly = assemble_or_reuse(
            plan.chunks,
            plan.keys,
            clips,
            mp3,
            pauses=run.options.pauses,
            encode=run.options.encode,
            cache=cache,
        )
    finally:
        clips.close()
        finished = time.perf_counter()
        report.durations["synthesize"] = round(last_clip[0] - started, 3)
        report.durations["assemble"] = round(finished - last_clip[0], 3)
    stats = report.chunks
    run.console.detail(
        f"{stats.synthesized} chunks synthesized, {stats.cached} from cache, {stats.retries} retries, "
        f"{finished - started:.1f}s"
    )
    if assembly.loudness is not None:
        report.loudness = {
            "integrated_lufs": round(assembly.loudness.integrated, 2),
            "true_peak_dbtp": round(assembly.loudness.true_peak, 2),
            "target_lufs": run.options.encode.loudness,
        }
    return assembly


def _list_unspoken(run: Run, report: RunReport, engine: Engine, plan: Plan) -> None:
    """Say what the offline voice will skip (Latin words, unreadable characters): -v and the report."""
    if engine.name != "offline":
        return
    from bulletin.engines.pinyin_frontend import Reader, unspoken

    reader = Reader()
    found = [
        word
        for chunk in plan.chunks
        for word in unspoken(reader.read(chunk.spoken, sandhi=False, polyphones=False))
    ]
    report.unspoken = found
    if found:
        shown = ", ".join(dict.fromkeys(found))
        run.console.detail(
            f"the offline voice cannot say and skips: {shown} (add them to a lexicon to have them read)"
        )


def _publish(
    options: BuildOptions,
    mp3: Path,
    assembly: Assembly,
    when: datetime,
    title: str,
    choice: Choice,
    clean: CleanText,
) -> tuple[Path | None, str | None]:
    """Publish the MP3, subtitles and feed as one set (all or none): the MP3's path and feed GUID.

    Everything is written to temp files beside its target first, then renamed MP3 first
    and feed last, so a podcast app never reads an item whose MP3 is not there yet; a
    failure or a signal between the renames puts the old files back. The path is None
    when the MP3 went to stdout.
    """
    from bulletin.files import copy_file, published_together, write_bytes
    from bulletin.publish.names import render_output_path

    output = guid = None
    if not options.to_stdout:
        output = render_output_path(
            options.template, when=when, title=title, voice=choice.voice.voice, engine=choice.engine.name
        )
        if output.is_dir():
            raise InputError(f"{output} is a folder; name the MP3 file to write")
    with published_together() as staged:
        if output is None:
            with mp3.open("rb") as f:
                shutil.copyfileobj(f, sys.stdout.buffer)
            sys.stdout.buffer.flush()
        else:
            copy_file(mp3, staged.stage(output), name=output)
        if options.subtitles:
            outputs.write_subtitles(
                staged.stage(Path(options.subtitles)), options.subtitles, assembly, options
            )
        if options.feed and output is not None:
            feed, guid = outputs.feed_with(options, output, mp3, assembly.duration, title, clean, when)
            write_bytes(staged.stage(Path(options.feed)), feed, name=Path(options.feed))
    return output, guid


def _record(
    run: Run,
    state: RunState,
    fingerprint: str,
    output: Path,
    assembly: Assembly,
    choice: Choice,
    guid: str | None,
) -> None:
    """Remember the run, so an unchanged re-run can skip; the bulletin is out whatever happens here.

    The record is a cache: when it cannot be written (a state folder that is a file, read
    only or full), the next run rebuilds once, and this run still succeeds, with a warning.
    """
    from bulletin.publish.state import output_key

    options = run.options
    # the engine is kept so that a bulletin made offline as a fallback is redone with
    # Edge next time, even though its text and settings are unchanged
    companions: dict[str, Any] = {"duration": assembly.duration, "engine": choice.engine.name}
    try:
        if options.subtitles:
            companions["subtitles"] = outputs.digest(Path(options.subtitles))
        if options.feed:
            companions["feed"] = {"path": str(Path(options.feed).absolute()), "guid": guid}
        state.record_success(output_key(options.template), fingerprint, output, companions)
    except (BulletinError, OSError) as exc:
        run.console.info(f"warning: the run state was not recorded ({exc}); the next run will rebuild")


# --------------------------------------------------------------------------- dry run


def dry_run_plan(
    options: BuildOptions, console: Console | None = None, *, engine: Engine | None = None
) -> dict[str, Any]:
    """The chunk plan and estimated duration, without synthesizing (or contacting) anything."""
    run = Run.make(options, console, engine, None, None)
    gathered = gather(run)
    clean = clean_sources(run, gathered)
    sources = [s.to_dict() for s in gathered.sources]
    if clean is None:
        return {"no_new_stories": True, "sources": sources, "articles": [], "chunks": [], "text": ""}
    for line in clean.fold_lines():
        run.console.detail(line)
    choice = choose(options.engine, _resolve(options, clean), run.factory, probe=False, given=engine)
    plan: Plan = Planner(clean, run.lexicon)(choice.engine, choice.voice)
    return {
        "text": clean.text,
        "engine": choice.engine.name,
        "voice": choice.voice.voice,
        "limit": choice.engine.max_chunk_chars,
        "folded": clean.folds(),
        "removed": clean.removed.to_dict(),
        "sources": sources,
        "articles": [s.to_dict() for s in clean.structures],
        "chunks": [_chunk_dict(c) for c in plan.chunks],
        "estimated_seconds": estimate_seconds(plan.chunks, options.pauses.table(), choice.voice.rate),
    }


def _chunk_dict(c: Any) -> dict[str, Any]:
    return {
        "text": c.text,
        "spoken": c.spoken,
        "story": c.story,
        "paragraph": c.paragraph,
        "sentence": c.sentence,
        "pause_after": c.pause_after,
    }
