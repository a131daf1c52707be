"""What differs between a bulletin and a programme, behind one small interface: the :class:`Maker`.

The run (:mod:`bulletin.run.build`) is one sequence for both: read, lock, unchanged?,
choose the engine, make the audio, tag, publish, record. It asks its maker only what
differs:

- what the bulletin is called and what of it the skip-unchanged fingerprint holds;
- what the feed item says (known before synthesis, so a feed that cannot hold it is
  refused before any work, and after it, when a programme knows its headlines);
- whether every chunk it would speak is cached (then Edge is not even contacted);
- the audio itself, into an MP3 (a bulletin streams its clips into assembly; a programme
  synthesizes in rounds, fits its slot and mixes its sounds);
- the dry run's plan and the preview, from the same objects.

:class:`~bulletin.run.bulletin.BulletinMaker` and
:class:`~bulletin.run.programme.make.ProgrammeMaker` are the two makers;
:func:`maker_for` picks one (the only place that asks whether there is a programme).
A plain bulletin is not a programme of one part: it streams into the MP3 with memory
that does not grow with its length, where a programme must measure every chunk before
it can place one (ARCHITECTURE.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bulletin.run.choose import Choice, announce_model_install
from bulletin.run.context import Run
from bulletin.run.editorial import Edition
from bulletin.run.presets import Preset
from bulletin.run.report import RunReport
from bulletin.run.speak import Plan
from bulletin.text.chunk import Chunk
from bulletin.text.pipeline import CleanText

if TYPE_CHECKING:
    from bulletin.audio.timeline import Assembly
    from bulletin.engines.base import Engine


@dataclass(frozen=True)
class Made:
    """The audio made: the assembly (timeline, chapters, loudness), the feed item's text, who spoke."""

    assembly: Assembly
    described: str
    voices: str
    #: The stories as aired, in aired order and cut (chapters are made from them); None: as read.
    clean: CleanText | None = None
    #: Each aired story's sentence digests (whole story), remembered for the next edition.
    aired: tuple[tuple[str, ...], ...] = ()


class Maker(Protocol):
    """A bulletin or a programme, as the run sees it (see the module docstring)."""

    def title(self) -> str:
        """The default title (ID3, slug, feed item) when ``--title`` says none."""
        ...

    def album(self) -> str | None:
        """The programme's name (ID3 album, the feed's title), None for a bulletin."""
        ...

    def fingerprint(self) -> dict[str, Any]:
        """What, beyond the text and the run's settings, changes the bytes (skip-unchanged)."""
        ...

    def prepare(self) -> None:
        """Load and check what must be checked before synthesis (a programme's sounds)."""
        ...

    def described(self) -> str:
        """The feed item's text as known before synthesis (to check the feed can hold it)."""
        ...

    def all_cached(self, engine: Engine, preset: Preset) -> bool:
        """Is every chunk this would speak with ``engine`` already in the cache?"""
        ...

    def make(self, choice: Choice, mp3: Path, work: Path) -> Made:
        """The audio, with ``choice``'s engine and voice, into ``mp3`` (``work``: a temp folder)."""
        ...

    def dry_run(self, choice: Choice) -> DryRun:
        """What would be said, and how long it would last, synthesizing nothing."""
        ...

    def preview(self, choice: Choice, seconds: float, dest: Path, work: Path) -> None:
        """The first ``seconds`` as they will sound, into ``dest``."""
        ...


@dataclass(frozen=True)
class DryRun:
    """A maker's plan without audio: chunks, each chunk's part and story, the estimate, extra fields."""

    plan: Plan
    segments: tuple[str, ...]  # per story of the plan: "story", or a programme's part
    stories: tuple[int | None, ...]  # per story of the plan: the cleaned text's story, None for others
    estimated_seconds: float
    fields: dict[str, Any]


def maker_for(run: Run, report: RunReport, clean: CleanText, preset: Preset, when: datetime) -> Maker:
    """The programme's maker when the run has a programme, else the bulletin's."""
    if run.programme is not None:
        from bulletin.run.programme.make import ProgrammeMaker

        return ProgrammeMaker.of(run, report, clean, preset, when)
    from bulletin.run.bulletin import BulletinMaker

    return BulletinMaker(run, report, clean, preset)


def announce(run: Run, report: RunReport, choice: Choice) -> None:
    """Say which engine and voice speak (console and report), and that a model is being installed."""
    report.engine_used, report.voice = choice.engine.name, asdict(choice.voice)
    report.fallback_reason = choice.fallback_reason
    run.console.info(f"engine: {choice.engine.name} ({choice.why}); voice: {choice.voice.voice}")
    announce_model_install(choice.engine, run.console, run.dirs.data, choice.voice)


def list_unspoken(run: Run, report: RunReport, engine: Engine, plan: Plan) -> None:
    """Say what the voice will skip (offline: Latin words, unreadable characters): -v and the report."""
    from bulletin.engines.base import Skips

    if not isinstance(engine, Skips):
        return
    found = engine.unspoken([chunk.spoken for chunk in plan.chunks], plan.voices)
    report.unspoken = found
    if found:
        shown = ", ".join(dict.fromkeys(found))
        run.warn(f"the offline voice cannot say and skips: {shown} (a lexicon entry gives them a reading)")


def aired_seconds(assembly: Assembly, stories: Sequence[int | None]) -> dict[int, float]:
    """How long each story lasted as aired: from its first chunk's speech to its last's, by the
    cleaned text's story (``stories``: the one each story of the plan is, None for other parts)."""
    spans: dict[int, tuple[float, float]] = {}
    for placed in assembly.timeline:
        story = stories[placed.chunk.story] if placed.chunk.story < len(stories) else None
        if story is not None:
            start, end = spans.get(story, (placed.start, placed.end))
            spans[story] = (min(start, placed.start), max(end, placed.end))
    return {story: end - start for story, (start, end) in spans.items()}


def note_rundown(run: Run, report: RunReport, edition: Edition, clean: CleanText) -> None:
    """The rundown in the report, and as a table with ``-v``."""
    report.rundown = edition.lines(clean)
    for line in edition.table(clean):
        run.console.detail(line)


def note_loudness(run: Run, report: RunReport, assembly: Assembly) -> None:
    """The measured loudness in the report (none when the loudness passes were skipped)."""
    if assembly.loudness is not None:
        report.loudness = {
            "integrated_lufs": round(assembly.loudness.integrated, 2),
            "true_peak_dbtp": round(assembly.loudness.true_peak, 2),
            "target_lufs": run.options.output.encode.loudness,
            "encodes": assembly.attempts,
        }


def first_chunks(full: Plan, seconds: float, rate: str) -> Plan:
    """The first chunks of ``full``, about ``seconds`` of speech at ``rate``; the last ends the file."""
    from bulletin.text.pipeline import CHARS_PER_SECOND, rate_factor

    budget, count = seconds * CHARS_PER_SECOND * rate_factor(rate), 0
    for chunk in full.chunks:
        count += 1
        budget -= len(chunk.spoken)
        if budget <= 0:
            break
    last = full.chunks[count - 1]
    # the last chunk of a preview ends the file (the tail pause, not a sentence pause)
    end = Chunk(last.index, last.text, last.spoken, last.story, last.paragraph, last.sentence, "end")
    return full.head(count, end)
