"""One bulletin or programme run, start to finish, as a library call (the CLI only parses options).

:func:`run_build` is the sequence, the same for a bulletin and a programme; each step is
one call, and what differs between the two is asked of the run's
:class:`~bulletin.run.make.Maker`:

    check → read (sources → stories) → maker → lock → unchanged? → feed check
          → engine → audio (maker: clips streamed, or measured, fitted and mixed)
          → tags → publish (MP3, subtitles, feed: one set) → state → report

A caller may hand in the engine, the folders and the clock (tests use an in-memory
engine and a fixed time); by default the environment is read once, in
:meth:`~bulletin.run.context.Run.make`, which also reads the programme file (once).

Failures are :class:`~bulletin.errors.BulletinError`; the previous bulletin, feed and
subtitles stay byte-identical, because nothing is renamed into place before every step
that can fail has succeeded.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from bulletin.engines.base import Engine
from bulletin.environment import Dirs
from bulletin.errors import BulletinError, EngineUnavailable, InputError, PublishError, SynthesisError
from bulletin.files import sweep_temp_dirs, temp_dir
from bulletin.run import outputs
from bulletin.run.choose import Choice, MakeEngine, choose, fall_back, may_fall_back
from bulletin.run.context import Clock, Console, Run, Silent
from bulletin.run.make import Made, Maker, maker_for
from bulletin.run.options import BuildOptions
from bulletin.run.presets import Preset
from bulletin.run.read import read
from bulletin.run.report import RunReport
from bulletin.run.targets import check_targets, report_may_be_written
from bulletin.text.pipeline import CleanText

if TYPE_CHECKING:
    from bulletin.publish.state import Records, RunState
    from bulletin.run.speak import FanOut

T = TypeVar("T")


def run_build(
    options: BuildOptions,
    console: Console | None = None,
    *,
    engine: Engine | None = None,
    engines: MakeEngine | None = None,
    dirs: Dirs | None = None,
    clock: Clock | None = None,
    before_commit: Callable[[], None] | None = None,
    fan_out: FanOut | None = None,
    records: Records | None = None,
) -> RunReport:
    """Make and publish one bulletin or programme; returns the run's report (also ``--report``).

    ``engine``: speak with this engine, no choice and no fallback. ``engines``: make the
    engines by name through this instead (``--engine auto`` and the fallback still apply).
    ``dirs`` and ``clock`` default to the environment's folders and the local time.
    ``before_commit`` is called when every file is staged, just before the set is renamed
    into place; if it raises, nothing is published (a station group's fencing check).
    ``fan_out``: a programme's missing chunks are made by other processes, and ``records``
    keeps the run records instead of the state folder (both: a station group).
    """
    report = RunReport(engine_requested=options.voice.engine)
    say = console or Silent()
    checked = False
    try:
        options.check()  # before any work, for library callers too (the CLI checked already)
        run = Run.make(options, say, engine=engine, dirs=dirs, clock=clock, engines=engines)
        run.fan_out, run.records = fan_out, records  # a station group's hooks
        check_targets(run.options)
        checked = True
        sweep_temp_dirs()  # what runs killed with SIGKILL left in the temp folder
        try:
            _build(run, report, before_commit)
        except BrokenPipeError:
            raise
        except OSError as exc:  # the machine said no (a full disk, ``ulimit -f``, EIO): not a bug
            where = f" ({exc.filename})" if exc.filename else ""
            raise PublishError(f"the system refused a file operation: {exc.strerror or exc}{where}") from exc
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
        named = [
            *options.sources.articles,
            options.output.path,
            options.output.subtitles,
            options.publish.feed,
        ]
        if options.publish.report and (checked or report_may_be_written(options.publish.report, named)):
            try:
                report.write(Path(options.publish.report))
            except BulletinError as exc:
                say.info(f"warning: could not write the report: {exc}")


def _build(run: Run, report: RunReport, before_commit: Callable[[], None] | None = None) -> None:
    options, console = run.options, run.console
    when = run.when()
    clean = read(run, report)
    if clean is None:
        return
    preset = run.preset(clean)
    maker = maker_for(run, report, clean, preset, when)
    about = outputs.About(options.output.title or maker.title(), options.output.author, maker.album())
    with outputs.locked(options):
        state, fingerprint = _state(run, clean, preset, maker)
        if _unchanged(run, report, state, fingerprint, preset):
            return
        maker.prepare()  # a jingle ffmpeg cannot read: now, before any synthesis
        if options.publish.feed:  # a broken feed or text XML cannot hold is refused now, not after synthesis
            outputs.check_feed(options, about, maker.described(), when)
        with report.stage("engine"):
            choice = choose(
                options.voice.engine, preset, run.factory, given=run.engine, all_cached=maker.all_cached
            )
        with temp_dir("work") as work:
            mp3 = Path(work) / "bulletin.mp3"
            choice, made = _with_fallback(run, report, choice, lambda c: maker.make(c, mp3, Path(work)))
            outputs.write_tags(mp3, made.assembly, made.clean or clean, about, when)
            output, guid = _publish(options, mp3, made, when, about, choice, before_commit)
            size = mp3.stat().st_size
        if output is not None:
            _record(run, state, fingerprint, output, made, choice, guid)
    duration = made.assembly.duration
    report.output.path = str(output) if output else "-"
    report.output.size = size
    report.output.duration_seconds = round(duration, 2)
    minutes, seconds = divmod(duration, 60)
    console.info(
        f"wrote {output or 'stdout'}: {int(minutes)}:{seconds:04.1f}, {choice.engine.name} voice "
        f"{made.voices}, {report.chunks.synthesized} chunks synthesized, {report.chunks.cached} from cache"
    )


def _state(run: Run, clean: CleanText, preset: Preset, maker: Maker) -> tuple[RunState, str]:
    """The run-state records, and the fingerprint of this text and these settings (and the maker's)."""
    from bulletin.publish.state import RunState, fingerprint

    settings = outputs.settings_fingerprint(run.options, preset, run.lexicon.digest())
    return RunState(run.dirs.state, run.warn, run.records), fingerprint(
        clean.text, {**settings, **maker.fingerprint()}
    )


def _unchanged(run: Run, report: RunReport, state: RunState, fingerprint: str, preset: Preset) -> bool:
    """Is the last bulletin of this output still what these articles and settings make?

    A bulletin that fell back to the offline voice is redone once Edge is wanted again.
    """
    options = run.options
    if options.output.to_stdout or options.publish.force:
        return False
    from bulletin.publish.state import output_key

    record = state.unchanged(output_key(options.template), fingerprint)
    retry_edge = options.voice.engine == "auto" and preset.engine == "edge"
    fell_back = retry_edge and (record or {}).get("extra", {}).get("engine") == "offline"
    if record is None or fell_back or not outputs.companions_intact(record):
        return False
    report.skipped_unchanged = report.output.path = record["output"]
    run.console.info(f"unchanged: {record['output']} is up to date (use --force to rebuild)")
    return True


def _with_fallback(
    run: Run, report: RunReport, choice: Choice, make: Callable[[Choice], T]
) -> tuple[Choice, T]:
    """Make the audio with ``choice``; with ``--engine auto``, an Edge that fails for good
    (after its retries) or turns out unreachable does not end the run: the *whole* bulletin
    is made again with the offline voice (never a mix of the two), and the report says why.
    """
    try:
        return choice, make(choice)
    except (SynthesisError, EngineUnavailable) as exc:
        if not may_fall_back(run.options.voice.engine, choice):
            raise
        why = f"Edge failed ({exc})"
    run.console.info(f"{why}; making the whole bulletin with the offline voice instead")
    report.chunks.synthesized = report.chunks.cached = report.chunks.total = 0
    choice = fall_back(choice.preset, run.factory, why)
    return choice, make(choice)


def _publish(
    options: BuildOptions,
    mp3: Path,
    made: Made,
    when: datetime,
    about: outputs.About,
    choice: Choice,
    before_commit: Callable[[], None] | None = None,
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
    out, feed = options.output, options.publish.feed
    if not out.to_stdout:
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
        if out.subtitles:
            outputs.write_subtitles(staged.stage(Path(out.subtitles)), out.subtitles, made.assembly, options)
        if feed and output is not None:
            data, guid = outputs.feed_with(
                options, output, mp3, made.assembly.duration, about, made.described, when
            )
            write_bytes(staged.stage(Path(feed)), data, name=Path(feed))
        if before_commit is not None:
            before_commit()
    return output, guid


def _record(
    run: Run, state: RunState, fingerprint: str, output: Path, made: Made, choice: Choice, guid: str | None
) -> None:
    """Remember the run, so an unchanged re-run can skip; the bulletin is out whatever happens here.

    The record is a cache: when it cannot be written (a state folder that is a file, read
    only or full), the next run rebuilds once, and this run still succeeds, with a warning.
    """
    from bulletin.publish.state import output_key

    options = run.options
    # the engine is kept so that a bulletin made offline as a fallback is redone with
    # Edge next time, even though its text and settings are unchanged
    companions: dict[str, Any] = {"duration": made.assembly.duration, "engine": choice.engine.name}
    companions["aired"] = [list(story) for story in made.aired]  # the next edition rotates them
    try:
        if options.output.subtitles:
            companions["subtitles"] = outputs.digest(Path(options.output.subtitles))
        if options.publish.feed:
            companions["feed"] = {"path": str(Path(options.publish.feed).absolute()), "guid": guid}
        state.record_success(output_key(options.template), fingerprint, output, companions)
    except (BulletinError, OSError) as exc:
        run.warn(f"the run state was not recorded ({exc}); the next run will rebuild")
