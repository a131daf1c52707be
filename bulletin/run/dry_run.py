"""The dry run: what a build would say and how long it would last, synthesizing (and contacting) nothing.

It reads, checks and plans with the same objects as the build (:class:`~bulletin.run.context.Run`,
the run's :class:`~bulletin.run.make.Maker`), so the plan it prints is the build's.
"""

from __future__ import annotations

from typing import Any

from bulletin.engines.base import Engine
from bulletin.run.choose import choose
from bulletin.run.context import Console, Run
from bulletin.run.make import maker_for
from bulletin.run.options import BuildOptions
from bulletin.run.read import clean_sources, gather
from bulletin.run.report import RunReport
from bulletin.run.targets import check_targets


def dry_run_plan(
    options: BuildOptions, console: Console | None = None, *, engine: Engine | None = None
) -> dict[str, Any]:
    """The chunk plan and estimated duration, without synthesizing (or contacting) anything.

    The run's maker plans as the build would: with a programme, which stories fit the slot
    by estimate, and each chunk's part (``segment``) and voice.
    """
    options.check()
    run = Run.make(options, console, engine=engine)
    check_targets(run.options)  # the dry run refuses what the build would
    gathered = gather(run)
    clean = clean_sources(run, gathered)
    sources = [s.to_dict() for s in gathered.sources]
    if clean is None:
        return {"no_new_stories": True, "sources": sources, "articles": [], "chunks": [], "text": ""}
    for line in clean.fold_lines():
        run.console.detail(line)
    preset = run.preset(clean)
    choice = choose(run.options.voice.engine, preset, run.factory, probe=False, given=engine)
    dry = maker_for(run, RunReport(), clean, preset, run.when()).dry_run(choice)
    return {
        "text": clean.text,  # the maker's fields say what is aired
        "engine": choice.engine.name,
        "voice": choice.voice.voice,
        "limit": choice.engine.max_chunk_chars,
        "folded": clean.folds(),
        "removed": clean.removed.to_dict(),
        "sources": sources,
        "articles": [s.to_dict() for s in clean.structures],
        "chunks": [
            {
                "text": c.text,
                "spoken": c.spoken,
                "story": dry.stories[c.story],
                "paragraph": c.paragraph,
                "sentence": c.sentence,
                "pause_after": c.pause_after,
                "segment": dry.segments[c.story],
                "voice": v.voice,
            }
            for c, v in zip(dry.plan.chunks, dry.plan.voices, strict=True)
        ],
        "estimated_seconds": dry.estimated_seconds,
        **dry.fields,
    }
