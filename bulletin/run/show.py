"""A programme in a run: its voices, its spoken time, which stories fit the slot, and its sounds.

:class:`Show` is made once per run from the checked programme, the cleaned stories, the
run's voice and the air time; every voice the programme names is resolved then (an
unknown one is a usage error before any work), and all must be of one engine. The run
asks it for the rundown of a set of stories (:meth:`Show.rundown`), for the stories
that fit by estimate (:func:`choose_by_estimate`, what the dry run shows and where the
build starts), and :func:`load_sounds` decodes the jingles before anything is
synthesized. Measuring and mixing is in :func:`bulletin.run.build._mix_programme`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bulletin.audio.settings import Pauses
from bulletin.audio.timeline import Fit
from bulletin.engines.base import Engine
from bulletin.errors import AudioError, ConfigError
from bulletin.run.presets import Preset, for_engine, load_presets, pitch_unused, resolve, script_of
from bulletin.run.programme import Programme
from bulletin.run.rundown import Rundown, rundown
from bulletin.run.speak import Plan, Planner
from bulletin.text.airtime import placeholders
from bulletin.text.chars import is_speakable
from bulletin.text.lexicon import Lexicon
from bulletin.text.pipeline import CHARS_PER_SECOND, CleanText, rate_factor

if TYPE_CHECKING:
    import numpy as np

    from bulletin.audio.mix import Section, Store
    from bulletin.audio.timeline import Assembly
    from bulletin.run.options import BuildOptions

#: Until the real lengths are measured, stories are chosen as if speech were this much
#: shorter than estimated: a story too many costs one synthesis and is dropped after
#: measuring; one too few would leave the slot short for good.
OPTIMISM = 0.9
#: No story is tried once the programme is within this many seconds of its slot.
ROOM = 3.0


@dataclass(frozen=True)
class Show:
    """See the module docstring."""

    programme: Programme
    clean: CleanText
    voice: Preset
    presets: Mapping[str, Preset]
    values: Mapping[str, str]
    script: str

    @classmethod
    def make(cls, programme: Programme, clean: CleanText, voice: Preset, when: datetime) -> Show:
        """Resolve the programme's voices (with the run voice's prosody) and its spoken time."""
        known = load_presets()
        presets = {}
        for name in dict.fromkeys(n for n in programme.voices if n):
            preset = resolve(name, script=clean.script, presets=known)
            presets[name] = replace(preset, rate=voice.rate, volume=voice.volume, pitch=voice.pitch)
        engines = sorted({voice.engine, *(p.engine for p in presets.values())})
        if len(engines) > 1:
            raise ConfigError(
                f"programme {programme.path}: its voices are of different engines ({', '.join(engines)}); "
                "a programme is made with one engine"
            )
        script = script_of(voice, clean.script)
        values = {"name": programme.name, **placeholders(when, script)}  # type: ignore[arg-type]
        return cls(programme, clean, voice, presets, values, script)

    def on(self, engine: str) -> Show:
        """The same show with every voice for ``engine`` (the offline fallback keeps the anchors apart)."""
        if self.voice.engine == engine:
            return self

        def mapped(preset: Preset) -> Preset:
            return pitch_unused(for_engine(preset, engine))[0]

        return replace(
            self, voice=mapped(self.voice), presets={n: mapped(p) for n, p in self.presets.items()}
        )

    def rundown(self, aired: Sequence[int]) -> Rundown:
        return rundown(
            self.programme,
            self.clean,
            aired,
            values=self.values,
            script=self.script,
            voice=self.voice,
            presets=self.presets,
        )

    def plan(self, aired: Sequence[int], engine: Engine, lexicon: Lexicon | None) -> tuple[Rundown, Plan]:
        """The rundown of ``aired`` and its chunk plan, each part in its own voice."""
        parts = self.rundown(aired)
        planner = Planner(parts.clean(self.clean), lexicon)
        return parts, planner(engine, [v.settings for v in parts.voices()])

    def title(self) -> str:
        """The default title: the programme's name and the air time as it is spoken."""
        name = self.programme.name
        return f"{name} {self.values['date']}{self.values['time']}" if name else ""


def mix_show(
    show: Show,
    sections: Sequence[Section],
    plan: Plan,
    store: Store,
    sounds: Mapping[Path, np.ndarray],
    fitted: Fit,
    dest: Path,
    work: Path,
    options: BuildOptions,
) -> Assembly:
    """:func:`bulletin.audio.mix.mix` with the programme's ``[mix]`` and the run's pauses and encoding."""
    from bulletin.audio.mix import mix

    return mix(
        sections,
        plan.chunks,
        plan.keys,
        store,
        sounds,
        fitted,
        dest,
        work,
        pauses=options.pauses,
        duck_db=show.programme.duck_db,
        bed_level_db=show.programme.bed_level_db,
        options=options.encode,
    )


def load_sounds(programme: Programme) -> dict[Path, np.ndarray]:
    """Every jingle, bed and sting decoded (a file ffmpeg cannot read is a usage error, now)."""
    from bulletin.audio.mix import load_sound

    try:
        return {path: load_sound(path) for path in programme.sounds}
    except AudioError as exc:
        raise ConfigError(f"programme {programme.path}: {exc}") from None


def sound_seconds(sounds: Mapping[Path, np.ndarray]) -> dict[Path, float]:
    from bulletin.audio.mix import RATE

    return {path: pcm.size / RATE for path, pcm in sounds.items()}


def estimated_seconds(plan: Plan) -> dict[str, float]:
    """Each chunk's speech by key, estimated from its speakable characters and its voice's rate."""
    return {
        key: sum(1 for ch in chunk.spoken if is_speakable(ch)) / (CHARS_PER_SECOND * rate_factor(voice.rate))
        for chunk, key, voice in zip(plan.chunks, plan.keys, plan.voices, strict=True)
    }


def choose_by_estimate(
    show: Show,
    engine: Engine,
    lexicon: Lexicon | None,
    sounds: Mapping[Path, float],
    pauses: Pauses,
    *,
    measured: Callable[[str], float | None] | None = None,
    optimism: float = OPTIMISM,
) -> tuple[list[int], Fit]:
    """The stories, in order, that fit the slot; one that does not fit is skipped and the
    next ones tried (a short story may still fit where a long one did not). Without a
    slot, every story.

    A chunk's length is ``measured(key)`` when it is known, else its estimate, scaled by
    how the measured chunks compared with their estimates (the voice's real pace), or by
    ``optimism`` before anything is measured.
    """
    from bulletin.audio.mix import fit

    slot = show.programme.slot
    known: dict[str, float] = {}
    guessed: dict[str, float] = {}

    def try_fit(aired: list[int]) -> Fit:
        parts, plan = show.plan(aired, engine, lexicon)
        for key, guess in estimated_seconds(plan).items():
            guessed[key] = guess
            real = measured(key) if measured is not None else None
            if real is not None:
                known[key] = real
        pace = sum(known.values()) / sum(guessed[k] for k in known) if known else optimism
        seconds = lambda k: known.get(k, guessed[k] * pace)  # noqa: E731
        return fit(parts.sections(plan.chunks), plan.chunks, plan.keys, seconds, sounds, pauses, slot)

    every = list(range(len(show.clean.stories)))
    if slot is None:
        return every, try_fit(every)
    try_fit(every)  # learn what is measured first, so the pace is known throughout
    aired: list[int] = []
    best = try_fit(aired)
    for n in every:
        if slot - best.seconds < ROOM:
            break
        trial = try_fit([*aired, n])
        if trial.fits:
            aired, best = [*aired, n], trial
    if not aired:  # not even the first story fits: it is read anyway, and the overrun said
        aired, best = [0], try_fit([0])
    return aired, best


def dry_run_fields(show: Show, engine: Engine, lexicon: Lexicon | None, pauses: Pauses) -> dict[str, Any]:
    """What the dry run shows of a programme: the slot, each story (aired or not), the estimate."""
    sounds = sound_seconds(load_sounds(show.programme))
    aired, fitted = choose_by_estimate(show, engine, lexicon, sounds, pauses, optimism=1.0)
    parts, plan = show.plan(aired, engine, lexicon)
    from bulletin.run.rundown import headline_of

    return {
        "rundown": parts,
        "plan": plan,
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
    }
