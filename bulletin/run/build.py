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
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from bulletin import environment
from bulletin.audio.timeline import Assembly
from bulletin.engines.base import Clip, Engine, Skips
from bulletin.environment import Dirs
from bulletin.errors import (
    BulletinError,
    EngineUnavailable,
    InputError,
    PublishError,
    SlotOverrun,
    SynthesisError,
)
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
from bulletin.run.programme import Programme
from bulletin.run.report import ChunkStats, InputInfo, RunReport
from bulletin.run.reuse import assemble_or_reuse
from bulletin.run.rundown import Rundown
from bulletin.run.show import Show, choose_by_estimate, load_sounds, mix_show, sound_seconds
from bulletin.run.speak import Plan, Planner, clips_in_order
from bulletin.sources.gather import Gathered, read_sources
from bulletin.text.lexicon import Lexicon, merged
from bulletin.text.pipeline import CleanText, NothingUsable, clean_articles, estimate_seconds, limit_stories

if TYPE_CHECKING:
    from bulletin.publish.state import RunState

Clock = Callable[[], datetime]
T = TypeVar("T")


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
        options, programme = options.under_programme()
        found = dirs or environment.dirs()
        if options.cache_dir:
            found = Dirs(cache=Path(options.cache_dir), state=found.state, data=found.data)
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
        if self.options.air_time or self.options.timezone or self.programme:
            return self.options.air(now if now.tzinfo else now.astimezone(), self.local_zone)
        return now

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
    when = run.when()
    clean = _read(run, report)
    if clean is None:
        return
    preset = _resolve(options, clean)
    show = Show.make(run.programme, clean, preset, when) if run.programme else None
    title = options.title or (show.title() if show else "") or outputs.default_title(clean)
    with outputs.locked(options):
        lexicon = run.lexicon
        state, fingerprint = _state(run, clean, preset, lexicon, show)
        if _unchanged(run, report, state, fingerprint, preset):
            return
        sounds = load_sounds(show.programme) if show else {}  # a jingle ffmpeg cannot read: now
        about = outputs.About(title, options.author, show.programme.name if show else None)
        if options.feed:  # a broken feed or text XML cannot hold is refused now, not after synthesis
            stand_in = (
                outputs.description(clean.stories[0])
                if not show
                else "\n".join(show.rundown(range(len(clean.stories))).headlines)
            )
            outputs.check_feed(options, about, stand_in, when)
        cache, planner = run.cache, Planner(clean, lexicon)

        def all_cached(engine: Engine, p: Preset) -> bool:
            if show is None:
                return planner(engine, p.settings).all_cached(cache)
            on = show.on(engine.name)
            aired, _ = choose_by_estimate(on, engine, lexicon, sound_seconds(sounds), options.pauses)
            return on.plan(aired, engine, lexicon)[1].all_cached(cache)

        with report.stage("engine"):
            choice = choose(options.engine, preset, run.factory, given=run.engine, all_cached=all_cached)
        with temp_dir("work") as work:
            mp3 = Path(work) / "bulletin.mp3"
            parts: Rundown | None = None
            if show is None:
                choice, assembly = _with_fallback(
                    run, report, choice, lambda c: _assemble(run, report, planner, cache, c, mp3)
                )
                described = outputs.description(clean.stories[0])
            else:
                choice, (assembly, aired) = _with_fallback(
                    run,
                    report,
                    choice,
                    lambda c: _mix_programme(run, report, show, sounds, cache, c, mp3, Path(work)),
                )
                parts = aired
                described = "\n".join(aired.headlines) or outputs.description(clean.stories[aired.aired[0]])
            outputs.write_tags(mp3, assembly, clean, about, when)
            output, guid = _publish(options, mp3, assembly, when, about, described, choice)
            size = mp3.stat().st_size
        if output is not None:
            _record(run, state, fingerprint, output, assembly, choice, guid)
    report.output.path = str(output) if output else "-"
    report.output.size = size
    report.output.duration_seconds = round(assembly.duration, 2)
    minutes, seconds = divmod(assembly.duration, 60)
    console.info(
        f"wrote {output or 'stdout'}: {int(minutes)}:{seconds:04.1f}, {choice.engine.name} voice "
        f"{_voices(choice, parts)}, {report.chunks.synthesized} chunks synthesized, "
        f"{report.chunks.cached} from cache"
    )


def _voices(choice: Choice, parts: Rundown | None) -> str:
    if parts is None:
        return choice.voice.voice
    return ", ".join(dict.fromkeys(p.voice.voice for p in parts.spoken))


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


def _state(
    run: Run, clean: CleanText, preset: Preset, lexicon: Lexicon, show: Show | None
) -> tuple[RunState, str]:
    """The run-state records, and the fingerprint of this text and these settings.

    A programme adds its file, its sounds' digests, its voices and the spoken air time
    (the opener changes with the hour; the stories' clips come from the cache).
    """
    from bulletin.publish.state import RunState, fingerprint

    warn = lambda message: run.console.info(f"warning: {message}")  # noqa: E731
    settings = outputs.settings_fingerprint(run.options, preset, lexicon.digest())
    if show is not None:
        settings["programme"] = {
            **show.programme.digest_fields(),
            "values": dict(show.values),
            "voices": {n: repr(p) for n, p in show.presets.items()},
        }
    return RunState(run.dirs.state, warn), fingerprint(clean.text, settings)


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


def _with_fallback(
    run: Run, report: RunReport, choice: Choice, make: Callable[[Choice], T]
) -> tuple[Choice, T]:
    """Make the bulletin (or programme) with ``choice``; synthesis and assembly, streamed.

    With ``--engine auto``, an Edge that fails for good (after its retries) or turns out
    unreachable does not end the run: the *whole* bulletin is made again with the offline
    voice (never a mix of the two), and the report says why.
    """
    try:
        return choice, make(choice)
    except (SynthesisError, EngineUnavailable) as exc:
        if not may_fall_back(run.options.engine, choice):
            raise
        why = f"Edge failed ({exc})"
    run.console.info(f"{why}; making the whole bulletin with the offline voice instead")
    report.chunks.synthesized = report.chunks.cached = report.chunks.total = 0
    choice = fall_back(choice.preset, run.factory, why)
    return choice, make(choice)


def _announce(run: Run, report: RunReport, choice: Choice) -> None:
    """Say which engine and voice speak (console and report), and that a model is being installed."""
    report.engine_used, report.voice = choice.engine.name, asdict(choice.voice)
    report.fallback_reason = choice.fallback_reason
    run.console.info(f"engine: {choice.engine.name} ({choice.why}); voice: {choice.voice.voice}")
    announce_model_install(choice.engine, run.console, run.dirs.data, choice.voice)


def _assemble(
    run: Run, report: RunReport, planner: Planner, cache: ClipCache | None, choice: Choice, mp3: Path
) -> Assembly:
    """One engine's bulletin: its plan, its clips as they come, assembled into ``mp3``.

    The report's ``synthesize`` stage is the wall time until the last clip arrived and
    ``assemble`` the time after it until the MP3 is finished (they overlap by design).
    """
    _announce(run, report, choice)
    plan = planner(choice.engine, choice.voice)
    _list_unspoken(run, report, choice.engine, plan)
    started = time.perf_counter()
    last_clip = [started]

    def timed(clips: Iterator[Clip]) -> Generator[Clip, None, None]:
        for clip in clips:
            yield clip
            last_clip[0] = time.perf_counter()

    clips = timed(clips_in_order(plan, choice.engine, cache, report.chunks, run.console))
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


def _mix_programme(
    run: Run,
    report: RunReport,
    show: Show,
    sounds: dict[Path, Any],
    cache: ClipCache | None,
    choice: Choice,
    mp3: Path,
    work: Path,
) -> tuple[Assembly, Rundown]:
    """A programme with one engine, fitted to its slot by measuring, then mixed into ``mp3``.

    In rounds: choose the stories that fit (measured lengths where known, estimates at
    the measured pace elsewhere), synthesize what is not measured yet, and choose again,
    until the choice needs nothing new. Every chunk is synthesized at most once: its
    trimmed speech is kept by chunk key in a :class:`~bulletin.audio.mix.Store`, so a
    rundown made again (headlines without a dropped story) needs only its new chunks.
    """
    from bulletin.audio.mix import Store, fit

    _announce(run, report, choice)
    options, engine, lexicon = run.options, choice.engine, run.lexicon
    show = show.on(engine.name)
    lengths = sound_seconds(sounds)
    store = Store(work / "speech.raw")
    measured = lambda key: store.seconds(key) if key in store else None  # noqa: E731
    started = time.perf_counter()
    slot = show.programme.slot

    def measure(plan: Plan) -> bool:
        """Synthesize and measure the chunks of ``plan`` not measured yet; were there any?"""
        missing = [i for i, key in enumerate(plan.keys) if key not in store]
        if missing:
            _list_unspoken(run, report, engine, plan)
            part, stats = plan.only(missing), ChunkStats()
            clips = clips_in_order(part, engine, cache, stats, run.console)
            try:
                store.add(part.keys, clips)
            finally:
                clips.close()
                report.chunks.add(stats)
        return bool(missing)

    for _ in range(len(show.clean.stories) + 1):  # each round measures stories not measured before
        aired, _fit = choose_by_estimate(show, engine, lexicon, lengths, options.pauses, measured=measured)
        parts, plan = show.plan(aired, engine, lexicon)
        if not measure(plan):
            break
    dropped = [n for n in range(len(show.clean.stories)) if n not in aired]
    while True:  # only if the rounds ran out: drop from the end until it fits
        sections = parts.sections(plan.chunks)
        fitted = fit(sections, plan.chunks, plan.keys, store.seconds, lengths, options.pauses, slot)
        if fitted.fits or len(aired) <= 1:
            break
        dropped.append(aired.pop())
        parts, plan = show.plan(aired, engine, lexicon)
        measure(plan)
    if not fitted.fits:  # not even one story fits: an overlong programme would break the playout
        raise SlotOverrun(
            f"programme {show.programme.path}: with even its shortest story it lasts "
            f"{fitted.seconds:.1f} s, over its {slot:g} s slot; nothing published "
            "(lengthen the slot, or shorten the opener, closer or jingles)"
        )
    if dropped:
        shown = ", ".join(str(n + 1) for n in sorted(dropped))
        run.console.info(f"left out story {shown}: the programme would be longer than its {slot:g} s slot")
    report.durations["synthesize"] = round(time.perf_counter() - started, 3)
    with report.stage("assemble"):
        assembly = mix_show(show, sections, plan, store, sounds, fitted, mp3, work, options)
    _note_fit(run, report, show, parts, assembly, dropped)
    return assembly, parts


def _note_fit(
    run: Run, report: RunReport, show: Show, parts: Rundown, assembly: Assembly, dropped: list[int]
) -> None:
    """The fit in the report and on the console: what was dropped, and by how much the news is short."""
    fitted = assembly.fit
    assert fitted is not None
    slot = show.programme.slot
    report.programme = {
        "name": show.programme.name,
        "slot_seconds": slot,
        "seconds": round(assembly.duration, 2),
        "aired": list(parts.aired),  # stories by index (from 0), as the dry run numbers them
        "dropped": sorted(dropped),
        "pause_scale": round(fitted.pause_scale, 3),
        "tempo": round(fitted.tempo, 4),
        "short_by_seconds": round(fitted.short_by, 2),
        "filled_seconds": round(fitted.filled, 2),
        "headlines": list(parts.headlines),
    }
    if assembly.loudness is not None:
        report.loudness = {
            "integrated_lufs": round(assembly.loudness.integrated, 2),
            "true_peak_dbtp": round(assembly.loudness.true_peak, 2),
            "target_lufs": run.options.encode.loudness,
        }
    if fitted.short_by > 0:
        pad = "the closing bed fills it" if fitted.filled else "it ends early"
        every = len(parts.aired) == len(show.clean.stories)
        why = "all the stories there were" if every else "no other story fits"
        run.console.info(f"the news is {fitted.short_by:.1f} s short of the {slot:g} s slot ({why}); {pad}")


def _list_unspoken(run: Run, report: RunReport, engine: Engine, plan: Plan) -> None:
    """Say what the voice will skip (offline: Latin words, unreadable characters): -v and the report."""
    if not isinstance(engine, Skips):
        return
    found = engine.unspoken([chunk.spoken for chunk in plan.chunks], plan.voices)
    report.unspoken = found
    if found:
        shown = ", ".join(dict.fromkeys(found))
        run.console.info(
            f"warning: the offline voice cannot say and skips: {shown} (a lexicon entry gives them a reading)"
        )


def _publish(
    options: BuildOptions,
    mp3: Path,
    assembly: Assembly,
    when: datetime,
    about: outputs.About,
    described: str,
    choice: Choice,
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
            options.template,
            when=when,
            title=about.title,
            voice=choice.voice.voice,
            engine=choice.engine.name,
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
            feed, guid = outputs.feed_with(options, output, mp3, assembly.duration, about, described, when)
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
    """The chunk plan and estimated duration, without synthesizing (or contacting) anything.

    With a programme: which stories fit the slot by estimate, and each chunk's part
    (``segment``) and voice.
    """
    run = Run.make(options, console, engine, None, None)
    gathered = gather(run)
    clean = clean_sources(run, gathered)
    sources = [s.to_dict() for s in gathered.sources]
    if clean is None:
        return {"no_new_stories": True, "sources": sources, "articles": [], "chunks": [], "text": ""}
    for line in clean.fold_lines():
        run.console.detail(line)
    preset = _resolve(run.options, clean)
    choice = choose(run.options.engine, preset, run.factory, probe=False, given=engine)
    fields: dict[str, Any] = {}
    segments: list[str]
    stories: list[int | None]
    if run.programme is not None:
        from bulletin.run.show import dry_run_fields

        show = Show.make(run.programme, clean, preset, run.when()).on(choice.engine.name)
        found = dry_run_fields(show, choice.engine, run.lexicon, run.options.pauses)
        plan, parts = found.pop("plan"), found.pop("rundown")
        segments = [p.kind for p in parts.spoken]
        stories = [p.story for p in parts.spoken]  # the article's story, None for the other parts
        fields = found
        estimate = fields["programme"]["estimated_seconds"]
    else:
        plan = Planner(clean, run.lexicon)(choice.engine, choice.voice)
        segments = ["story"] * len(clean.stories)
        stories = list(range(len(clean.stories)))
        estimate = estimate_seconds(plan.chunks, run.options.pauses.table(), choice.voice.rate)
    return {
        "text": clean.text,
        "engine": choice.engine.name,
        "voice": choice.voice.voice,
        "limit": choice.engine.max_chunk_chars,
        "folded": clean.folds(),
        "removed": clean.removed.to_dict(),
        "sources": sources,
        "articles": [s.to_dict() for s in clean.structures],
        "chunks": [
            {**_chunk_dict(c), "story": stories[c.story], "segment": segments[c.story], "voice": v.voice}
            for c, v in zip(plan.chunks, plan.voices, strict=True)
        ],
        "estimated_seconds": estimate,
        **fields,
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
