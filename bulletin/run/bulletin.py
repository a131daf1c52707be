"""The plain bulletin's :class:`~bulletin.run.make.Maker`: stories read in order, clips streamed to MP3.

The order is the one given unless ``--order importance``; ``--story-seconds`` cuts each
story at a sentence end, at the voice's estimated pace (a bulletin streams its speech, so
nothing is measured before it is placed): :mod:`bulletin.run.editorial` decides both.

Clips come from the cache or the engine in chunk order (:func:`~bulletin.run.speak.clips_in_order`)
and are assembled as they arrive, so memory does not grow with the bulletin.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bulletin.run import outputs
from bulletin.run.choose import Choice
from bulletin.run.context import Run
from bulletin.run.editorial import Cut, Edition, cut_to, desk_for, edited, sentence_lengths
from bulletin.run.make import (
    DryRun,
    Made,
    aired_seconds,
    announce,
    first_chunks,
    list_unspoken,
    note_loudness,
    note_rundown,
)
from bulletin.run.presets import Preset
from bulletin.run.report import ChunkStats, RunReport
from bulletin.run.speak import Planner, clips_in_order
from bulletin.text import pipeline
from bulletin.text.chars import is_speakable
from bulletin.text.pipeline import CHARS_PER_SECOND, CleanText, estimate_seconds, rate_factor

if TYPE_CHECKING:
    from bulletin.engines.base import Clip, Engine


@dataclass
class BulletinMaker:
    """A bulletin: every story, in order, in one voice."""

    run: Run
    report: RunReport
    clean: CleanText
    preset: Preset
    planner: Planner = field(init=False)
    #: The stories as read (``clean`` becomes them as aired: in order, cut).
    read: CleanText = field(init=False)
    edition: Edition = field(init=False)
    cuts: dict[int, Cut] = field(init=False)

    def __post_init__(self) -> None:
        run = self.run
        self.read = self.clean
        desk = desk_for(run.options, None)
        edition = Edition.make(self.read, desk)
        order = edition.order
        cuts: dict[int, Cut] = {}
        if desk.budget is not None:
            chunks = pipeline.plan(edited(self.read, order), 1 << 20, run.lexicon)  # a chunk a sentence
            pace = CHARS_PER_SECOND * rate_factor(self.preset.rate)
            seconds = [sum(1 for ch in c.spoken if is_speakable(ch)) / pace for c in chunks]
            lengths = sentence_lengths(chunks, seconds, run.options.output.pauses.table())
            cuts = {n: cut_to(*lengths[i], desk.budget) for i, n in enumerate(order) if i in lengths}
        self.edition, self.cuts = edition.settled(order, cuts), cuts
        self.clean = edited(self.read, order, cuts)
        self.planner = Planner(self.clean, run.lexicon)

    def title(self) -> str:
        if self.edition.order[:1] == (0,):
            return outputs.default_title(self.read)
        from bulletin.publish.tags import default_title

        return default_title(self.clean.headline(0) or self.clean.stories[0][0])

    def album(self) -> str | None:
        return None

    def prepare(self) -> None:
        pass

    def fingerprint(self) -> dict[str, Any]:
        return self.edition.desk.fingerprint()

    def described(self) -> str:
        return outputs.description(self.clean.stories[0])

    def all_cached(self, engine: Engine, preset: Preset) -> bool:
        return self.planner(engine, preset.settings).all_cached(self.run.cache)

    def make(self, choice: Choice, mp3: Path, work: Path) -> Made:
        """This engine's bulletin: its plan, its clips as they come, assembled into ``mp3``.

        The report's ``synthesize`` stage is the wall time until the last clip arrived and
        ``assemble`` the time after it until the MP3 is finished (they overlap by design).
        """
        from bulletin.run.reuse import assemble_or_reuse

        run, report = self.run, self.report
        announce(run, report, choice)
        plan = self.planner(choice.engine, choice.voice)
        list_unspoken(run, report, choice.engine, plan)
        cache, output = run.cache, run.options.output
        started = time.perf_counter()
        last_clip = [started]

        def timed(clips: Iterator[Clip]) -> Generator[Clip, None, None]:
            for clip in clips:
                yield clip
                last_clip[0] = time.perf_counter()

        clips = timed(clips_in_order(plan, choice.engine, cache, report.chunks, run.console))
        try:
            assembly = assemble_or_reuse(
                plan.chunks, plan.keys, clips, mp3, pauses=output.pauses, encode=output.encode, cache=cache
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
        note_loudness(run, report, assembly)
        order = self.edition.order
        seconds = aired_seconds(assembly, order)
        note_rundown(run, report, self.edition.settled(order, self.cuts, seconds), self.read)
        return Made(
            assembly,
            self.described(),
            choice.voice.voice,
            clean=self.clean,
            aired=self.edition.remembered(order),
        )

    def dry_run(self, choice: Choice) -> DryRun:
        plan = self.planner(choice.engine, choice.voice)
        count = len(self.clean.stories)
        estimate = estimate_seconds(plan.chunks, self.run.options.output.pauses.table(), choice.voice.rate)
        for line in self.edition.table(self.read):
            self.run.console.detail(line)
        story = self.edition.order
        fields = {"text": self.clean.text, "rundown": self.edition.lines(self.read)}  # as aired
        return DryRun(plan, ("story",) * count, story, estimate, fields)

    def preview(self, choice: Choice, seconds: float, dest: Path, work: Path) -> None:
        from bulletin.audio.assemble import assemble

        output = self.run.options.output
        plan = first_chunks(self.planner(choice.engine, choice.voice), seconds, choice.voice.rate)
        clips = clips_in_order(plan, choice.engine, self.run.cache, ChunkStats(), self.run.console)
        assemble(plan.chunks, clips, dest, pauses=output.pauses, options=output.encode)
