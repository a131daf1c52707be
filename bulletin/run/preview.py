"""Hear the start of a bulletin: synthesize only the first chunks and play them (or write them)."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

from bulletin.engines.base import Engine
from bulletin.run.build import Console, Run, _resolve, clean_sources, gather
from bulletin.run.choose import announce_model_install, choose
from bulletin.run.options import PREVIEW_SECONDS, BuildOptions
from bulletin.run.report import ChunkStats
from bulletin.run.show import Show
from bulletin.run.speak import Plan, Planner, clips_in_order
from bulletin.text.chunk import Chunk
from bulletin.text.pipeline import CHARS_PER_SECOND, rate_factor


def run_preview(
    options: BuildOptions,
    console: Console | None = None,
    *,
    seconds: float = PREVIEW_SECONDS,
    out: Path | None = None,
    engine: Engine | None = None,
) -> Path | None:
    """Synthesize just enough chunks for ``seconds`` of audio and play them (or write them).

    Returns the written file's path when it was written rather than played.
    """
    from bulletin.audio.assemble import assemble
    from bulletin.files import atomic_output, sweep_temp_dirs

    run = Run.make(options, console, engine, None, None)
    sweep_temp_dirs()
    clean = clean_sources(run, gather(run))
    if clean is None:
        run.console.info("no new stories; nothing to preview")
        return None
    preset = _resolve(run.options, clean)
    choice = choose(run.options.engine, preset, run.factory, given=run.engine)
    run.console.info(f"engine: {choice.engine.name} ({choice.why}); voice: {choice.voice.voice}")
    announce_model_install(choice.engine, run.console, run.dirs.data, choice.voice)
    if run.programme is not None:
        show = Show.make(run.programme, clean, preset, run.when()).on(choice.engine.name)
        return _preview_programme(run, show, choice.engine, seconds, out)
    plan = _first(Planner(clean, run.lexicon)(choice.engine, choice.voice), seconds, choice.voice.rate)
    clips = clips_in_order(plan, choice.engine, run.cache, ChunkStats(), run.console)
    target, player = _target(run, out)
    with atomic_output(target) as tmp:
        assemble(plan.chunks, clips, tmp, pauses=options.pauses, options=options.encode)
    return _play_or_keep(target, player)


def _target(run: Run, out: Path | None) -> tuple[Path, list[str] | None]:
    """Where the preview goes, and the player that will play it (None: it is kept, not played)."""
    from bulletin.audio.player import find_player

    player = None if out is not None else find_player()
    if out is not None:
        return out, None
    if player is None:
        run.console.info(
            "no audio player found (ffplay, mpv, afplay, paplay, aplay); writing the preview instead"
        )
        return Path.cwd() / "bulletin-preview.mp3", None
    return Path(tempfile.gettempdir()) / "bulletin-preview.mp3", player


def _play_or_keep(target: Path, player: list[str] | None) -> Path | None:
    from bulletin.audio.player import play

    if player is not None:
        play(target)
        return None
    return target


def _preview_programme(run: Run, show: Show, engine: Engine, seconds: float, out: Path | None) -> Path | None:
    """The programme's first ``seconds`` as they will sound: jingle, bed, voices, stings (no slot fit)."""
    from bulletin.audio.mix import Store, fit
    from bulletin.files import atomic_output, temp_dir
    from bulletin.run.show import choose_by_estimate, load_sounds, mix_show, sound_seconds

    sounds = load_sounds(show.programme)
    lengths = sound_seconds(sounds)
    aired, _ = choose_by_estimate(show, engine, run.lexicon, lengths, run.options.pauses)
    parts, full = show.plan(aired, engine, run.lexicon)
    plan = _first(full, seconds, show.voice.rate)
    count = len(plan.chunks)
    sections = []
    for section in parts.sections(full.chunks):  # the parts heard within the preview, nothing after
        if section.chunks and section.chunks[0] >= count:
            break
        sections.append(replace(section, chunks=tuple(c for c in section.chunks if c < count)))
        if section.chunks and section.chunks[-1] >= count - 1:
            break
    target, player = _target(run, out)
    with temp_dir("preview") as work, atomic_output(target) as tmp:
        store = Store(Path(work) / "speech.raw")
        store.add(plan.keys, clips_in_order(plan, engine, run.cache, ChunkStats(), run.console))
        fitted = fit(sections, plan.chunks, plan.keys, store.seconds, lengths, run.options.pauses, None)
        mix_show(show, sections, plan, store, sounds, fitted, tmp, Path(work), run.options)
    return _play_or_keep(target, player)


def _first(full: Plan, seconds: float, rate: str) -> Plan:
    """The first chunks of ``full``, about ``seconds`` of speech at ``rate``; the last ends the file."""
    budget, count = seconds * CHARS_PER_SECOND * rate_factor(rate), 0
    for chunk in full.chunks:
        count += 1
        budget -= len(chunk.spoken)
        if budget <= 0:
            break
    return full.head(count, _as_end(full.chunks[count - 1]))


def _as_end(chunk: Chunk) -> Chunk:
    """The last chunk of a preview ends the file (the tail pause, not a sentence pause)."""
    return Chunk(chunk.index, chunk.text, chunk.spoken, chunk.story, chunk.paragraph, chunk.sentence, "end")
