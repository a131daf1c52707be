"""Hear the start of a bulletin or programme: synthesize only the first chunks and play them (or write them).

The preview reads, chooses and plans with the same objects as the build (its
:class:`~bulletin.run.make.Maker`), so what is heard is how the build will sound.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bulletin.engines.base import Engine
from bulletin.run.choose import announce_model_install, choose
from bulletin.run.context import Console, Run
from bulletin.run.make import maker_for
from bulletin.run.options import PREVIEW_SECONDS, BuildOptions
from bulletin.run.read import clean_sources, gather
from bulletin.run.report import RunReport
from bulletin.run.targets import check_targets


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
    from bulletin.files import atomic_output, sweep_temp_dirs, temp_dir

    options.check()
    run = Run.make(options, console, engine=engine)
    check_targets(run.options)
    sweep_temp_dirs()
    clean = clean_sources(run, gather(run))
    if clean is None:
        run.console.info("no new stories; nothing to preview")
        return None
    preset = run.preset(clean)
    choice = choose(run.options.voice.engine, preset, run.factory, given=run.engine)
    run.console.info(f"engine: {choice.engine.name} ({choice.why}); voice: {choice.voice.voice}")
    announce_model_install(choice.engine, run.console, run.dirs.data, choice.voice)
    maker = maker_for(run, RunReport(), clean, preset, run.when())
    maker.prepare()
    target, player = _target(run, out)
    with temp_dir("preview") as work, atomic_output(target) as tmp:
        maker.preview(choice, seconds, tmp, Path(work))
    if player is not None:
        from bulletin.audio.player import play

        play(target)
        return None
    return target


def _target(run: Run, out: Path | None) -> tuple[Path, list[str] | None]:
    """Where the preview goes, and the player that will play it (None: it is kept, not played)."""
    from bulletin.audio.player import find_player

    if out is not None:
        return out, None
    player = find_player()
    if player is None:
        run.console.info(
            "no audio player found (ffplay, mpv, afplay, paplay, aplay); writing the preview instead"
        )
        return Path.cwd() / "bulletin-preview.mp3", None
    return Path(tempfile.gettempdir()) / "bulletin-preview.mp3", player
