"""Hear the start of a bulletin: synthesize only the first chunks and play them (or write them)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bulletin.engines.base import Engine
from bulletin.run.build import Console, Run, _resolve, clean_sources, gather
from bulletin.run.choose import announce_model_install, choose
from bulletin.run.options import PREVIEW_SECONDS, BuildOptions
from bulletin.run.report import ChunkStats
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
    from bulletin.audio.player import find_player, play
    from bulletin.files import atomic_output, sweep_temp_dirs

    run = Run.make(options, console, engine, None, None)
    sweep_temp_dirs()
    clean = clean_sources(run, gather(run))
    if clean is None:
        run.console.info("no new stories; nothing to preview")
        return None
    choice = choose(options.engine, _resolve(options, clean), run.factory, given=run.engine)
    run.console.info(f"engine: {choice.engine.name} ({choice.why}); voice: {choice.voice.voice}")
    announce_model_install(choice.engine, run.console, run.dirs.data, choice.voice)
    full = Planner(clean, run.lexicon)(choice.engine, choice.voice)
    budget = seconds * CHARS_PER_SECOND * rate_factor(choice.voice.rate)
    count = 0
    for chunk in full.chunks:
        count += 1
        budget -= len(chunk.spoken)
        if budget <= 0:
            break
    chunks = (*full.chunks[: count - 1], _as_end(full.chunks[count - 1]))
    plan = Plan(chunks, full.keys[:count])
    clips = clips_in_order(plan, choice.engine, choice.voice, run.cache, ChunkStats(), run.console)
    player = None if out is not None else find_player()
    target = out if out is not None else Path(tempfile.gettempdir()) / "bulletin-preview.mp3"
    if player is None and out is None:
        target = Path.cwd() / "bulletin-preview.mp3"
        run.console.info(
            "no audio player found (ffplay, mpv, afplay, paplay, aplay); writing the preview instead"
        )
    with atomic_output(target) as tmp:
        assemble(plan.chunks, clips, tmp, pauses=options.pauses, options=options.encode)
    if player is not None:
        play(target)
        return None
    return target


def _as_end(chunk: Chunk) -> Chunk:
    """The last chunk of a preview ends the file (the tail pause, not a sentence pause)."""
    return Chunk(chunk.index, chunk.text, chunk.spoken, chunk.story, chunk.paragraph, chunk.sentence, "end")
