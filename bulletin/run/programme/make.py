"""The programme's :class:`~bulletin.run.make.Maker`: measured in rounds, fitted to its slot, mixed.

A programme cannot stream like a bulletin: to last exactly its slot, the real length of
every chunk's speech must be known before anything is placed. So its speech is
synthesized into an :class:`~bulletin.audio.mix.Store` (trimmed speech by chunk key, on
disk) as :func:`~bulletin.run.programme.fit.fit_to_slot` asks for it, and
:func:`bulletin.audio.mix.mix` then lays out the fitted sections with their jingles,
stings and ducked beds and hands the mix to the same normalize-and-encode step as a
bulletin's assembly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bulletin.errors import InputError
from bulletin.run import outputs
from bulletin.run.choose import Choice
from bulletin.run.context import Run
from bulletin.run.editorial import Edition, desk_for, edited
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
from bulletin.run.programme.fit import Fitted, choose_by_estimate, first_sections, fit_to_slot
from bulletin.run.programme.rundown import headline_of
from bulletin.run.programme.show import Show, load_sounds, sound_seconds
from bulletin.run.report import ChunkStats, RunReport
from bulletin.run.speak import Plan, clips_in_order
from bulletin.text.pipeline import CleanText

if TYPE_CHECKING:
    import numpy as np

    from bulletin.audio.mix import Section, Store
    from bulletin.audio.timeline import Assembly, Fit
    from bulletin.engines.base import Engine


@dataclass
class ProgrammeMaker:
    """A programme: its parts around the stories that fit its slot, each part in its anchor's voice."""

    run: Run
    report: RunReport
    show: Show
    _sounds: dict[Path, np.ndarray] | None = field(default=None, repr=False)

    @classmethod
    def of(
        cls, run: Run, report: RunReport, clean: CleanText, preset: Preset, when: datetime
    ) -> ProgrammeMaker:
        """Resolve the programme's voices and spoken time (an unknown voice is a usage error, now)."""
        assert run.programme is not None
        desk = desk_for(run.options, run.programme)
        rotating = desk.rotate and desk.order == "importance"
        last = outputs.last_aired(run.options, run.dirs.state, run.warn, run.records) if rotating else ()
        edition = Edition.make(clean, desk, last)
        if not edition.order:
            words = ", ".join(run.programme.drops)
            raise InputError(
                f"programme {run.programme.path}: every story holds a word of its rundown's drop "
                f"({words}); nothing published"
            )
        return cls(run, report, Show.make(run.programme, clean, preset, when, edition))

    @property
    def sounds(self) -> dict[Path, np.ndarray]:
        """Every jingle, bed and sting, decoded once (a file ffmpeg cannot read is a usage error)."""
        if self._sounds is None:
            self._sounds = load_sounds(self.show.programme)
        return self._sounds

    def prepare(self) -> None:
        self.sounds  # noqa: B018  (decoded now, before anything is synthesized)

    def title(self) -> str:
        return self.show.title() or outputs.default_title(self.show.clean)

    def album(self) -> str | None:
        return self.show.programme.name

    def fingerprint(self) -> dict[str, Any]:
        """The programme file, its sounds' digests, its voices and the spoken air time.

        The opener changes with the hour; the stories' clips come from the cache.
        """
        show = self.show
        return {
            "programme": {
                **show.programme.digest_fields(),
                "values": dict(show.values),
                "voices": {n: repr(p) for n, p in show.presets.items()},
            },
            **show.edition.desk.fingerprint(),
        }

    def described(self) -> str:
        return "\n".join(self.show.rundown(self.show.edition.order).headlines)

    def all_cached(self, engine: Engine, preset: Preset) -> bool:
        run = self.run
        on = self.show.on(engine.name)
        pauses = run.options.output.pauses
        chosen = choose_by_estimate(on, engine, run.lexicon, sound_seconds(self.sounds), pauses)
        return on.plan(chosen.aired, engine, run.lexicon, chosen.cuts)[1].all_cached(run.cache)

    def make(self, choice: Choice, mp3: Path, work: Path) -> Made:
        """The programme with one engine, fitted to its slot by measuring, then mixed into ``mp3``."""
        from bulletin.audio.mix import Store

        run, report = self.run, self.report
        announce(run, report, choice)
        engine, show = choice.engine, self.show.on(choice.engine.name)
        store = Store(work / "speech.raw")
        started = time.perf_counter()

        def measure(plan: Plan) -> bool:
            """Synthesize and measure the chunks of ``plan`` not measured yet; were there any?"""
            missing = [i for i, key in enumerate(plan.keys) if key not in store]
            if missing:
                list_unspoken(run, report, engine, plan)
                part, stats = plan.only(missing), ChunkStats()
                if run.fan_out is not None and run.cache is not None:  # a station group's workers make them
                    run.fan_out(part, engine, run.cache)
                clips = clips_in_order(part, engine, run.cache, stats, run.console)
                try:
                    store.add(part.keys, clips)
                finally:
                    clips.close()
                    report.chunks.add(stats)
            return bool(missing)

        fitted = fit_to_slot(
            show,
            engine,
            run.lexicon,
            sound_seconds(self.sounds),
            run.options.output.pauses,
            measured=lambda key: store.seconds(key) if key in store else None,
            measure=measure,
        )
        if fitted.dropped:
            shown = ", ".join(str(n + 1) for n in fitted.dropped)
            slot = show.programme.slot or 0
            run.console.info(
                f"left out story {shown}: the programme would be longer than its {slot:g} s slot"
            )
        aired = fitted.parts.aired
        report.durations["synthesize"] = round(time.perf_counter() - started, 3)
        with report.stage("assemble"):
            assembly = self._mix(show, fitted.sections, fitted.plan, store, fitted.fit, mp3, work)
        self._note_fit(show, fitted, assembly)
        parts = fitted.parts
        edition = show.edition.settled(
            aired, fitted.cuts, aired_seconds(assembly, [p.story for p in parts.spoken])
        )
        note_rundown(run, report, edition, show.clean)
        described = "\n".join(parts.headlines) or outputs.description(
            next(p.paragraphs for p in parts.parts if p.story == aired[0])
        )
        voices = ", ".join(dict.fromkeys(p.voice.voice for p in parts.spoken))
        return Made(assembly, described, voices, aired=edition.remembered(aired))

    def dry_run(self, choice: Choice) -> DryRun:
        """Which stories fit the slot by estimate, each chunk's part and voice."""
        run = self.run
        show, engine = self.show.on(choice.engine.name), choice.engine
        lengths = sound_seconds(self.sounds)
        pauses = run.options.output.pauses
        chosen = choose_by_estimate(show, engine, run.lexicon, lengths, pauses, optimism=1.0)
        aired, fitted = chosen.aired, chosen.fit
        parts, plan = show.plan(aired, engine, run.lexicon, chosen.cuts)
        edition = show.edition.settled(aired, chosen.cuts)
        for line in edition.table(show.clean):
            run.console.detail(line)
        fields = {
            "programme": {
                "name": show.programme.name,
                "slot": show.programme.slot,
                "estimated_seconds": round(fitted.seconds, 1),
                "fits": fitted.fits,
                "short_by_seconds": round(fitted.short_by, 1),
                "stories": [
                    {"story": n, "headline": headline_of(show.clean, n), "aired": n in aired}
                    for n in range(len(show.clean.stories))
                ],
                "headlines": list(parts.headlines),
            },
            "text": edited(show.clean, aired, chosen.cuts).text,  # the stories as aired
            "rundown": edition.lines(show.clean),
        }
        segments = tuple(p.kind for p in parts.spoken)
        stories = tuple(p.story for p in parts.spoken)  # the article's story, None for the other parts
        return DryRun(plan, segments, stories, fields["programme"]["estimated_seconds"], fields)

    def preview(self, choice: Choice, seconds: float, dest: Path, work: Path) -> None:
        """The programme's first ``seconds`` as they will sound: jingle, bed, voices, stings (no slot fit)."""
        from bulletin.audio.mix import Store, fit

        run = self.run
        show, engine = self.show.on(choice.engine.name), choice.engine
        lengths = sound_seconds(self.sounds)
        pauses = run.options.output.pauses
        chosen = choose_by_estimate(show, engine, run.lexicon, lengths, pauses)
        parts, full = show.plan(chosen.aired, engine, run.lexicon, chosen.cuts)
        plan = first_chunks(full, seconds, show.voice.rate)
        sections = first_sections(parts.sections(full.chunks), len(plan.chunks))
        store = Store(work / "speech.raw")
        store.add(plan.keys, clips_in_order(plan, engine, run.cache, ChunkStats(), run.console))
        fitted = fit(sections, plan.chunks, plan.keys, store.seconds, lengths, pauses, None)
        self._mix(show, sections, plan, store, fitted, dest, work)

    def _mix(
        self,
        show: Show,
        sections: tuple[Section, ...] | list[Section],
        plan: Plan,
        store: Store,
        fitted: Fit,
        dest: Path,
        work: Path,
    ) -> Assembly:
        """:func:`bulletin.audio.mix.mix` with the programme's ``[mix]`` and the run's pauses and encoding."""
        from bulletin.audio.mix import mix

        output = self.run.options.output
        return mix(
            sections,
            plan.chunks,
            plan.keys,
            store,
            self.sounds,
            fitted,
            dest,
            work,
            pauses=output.pauses,
            duck_db=show.programme.duck_db,
            bed_level_db=show.programme.bed_level_db,
            options=output.encode,
        )

    def _note_fit(self, show: Show, fitted: Fitted, assembly: Assembly) -> None:
        """The fit in the report and on the console: what was dropped, and by how much the news is short."""
        run, report, parts = self.run, self.report, fitted.parts
        fit = assembly.fit
        assert fit is not None
        slot = show.programme.slot
        report.programme = {
            "name": show.programme.name,
            "slot_seconds": slot,
            "seconds": round(assembly.duration, 2),
            "aired": list(parts.aired),  # stories by index (from 0), as the dry run numbers them
            "dropped": list(fitted.dropped),
            "pause_scale": round(fit.pause_scale, 3),
            "tempo": round(fit.tempo, 4),
            "short_by_seconds": round(fit.short_by, 2),
            "filled_seconds": round(fit.filled, 2),
            "headlines": list(parts.headlines),
        }
        note_loudness(run, report, assembly)
        if fit.short_by > 0:
            pad = "the closing bed fills it" if fit.filled else "it ends early"
            every = len(parts.aired) == len(show.clean.stories)
            why = "all the stories there were" if every else "no other story fits"
            run.console.info(f"the news is {fit.short_by:.1f} s short of the {slot:g} s slot ({why}); {pad}")
