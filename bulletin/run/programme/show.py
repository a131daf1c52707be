"""A programme in a run: its voices, its spoken time, its sounds, and the plan of any rundown.

:class:`Show` is made once per run from the checked programme, the cleaned stories, the
run's voice and the air time; every voice the programme names is resolved then (an
unknown one is a usage error before any work), and all must be of one engine. The fit
(:mod:`bulletin.run.programme.fit`) asks it for the rundown and plan of a set of stories
(:meth:`Show.plan`); :func:`load_sounds` decodes the jingles before anything is
synthesized.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bulletin.engines.base import Engine
from bulletin.errors import AudioError, ConfigError
from bulletin.run.editorial import Cut, Edition, cut
from bulletin.run.presets import Preset, for_engine, load_presets, pitch_unused, resolve, script_of
from bulletin.run.programme.file import Programme
from bulletin.run.programme.rundown import Rundown, rundown
from bulletin.run.speak import Plan, Planner
from bulletin.text.airtime import placeholders
from bulletin.text.lexicon import Lexicon
from bulletin.text.pipeline import CleanText

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Show:
    """See the module docstring."""

    programme: Programme
    clean: CleanText
    voice: Preset
    presets: Mapping[str, Preset]
    values: Mapping[str, str]
    script: str
    #: The desk's rundown: the stories in the running, in its order, and each one's budget.
    edition: Edition

    @classmethod
    def make(
        cls, programme: Programme, clean: CleanText, voice: Preset, when: datetime, edition: Edition
    ) -> Show:
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
        return cls(programme, clean, voice, presets, values, script, edition)

    def on(self, engine: str) -> Show:
        """The same show with every voice for ``engine`` (the offline fallback keeps the anchors apart)."""
        if self.voice.engine == engine:
            return self

        def mapped(preset: Preset) -> Preset:
            return pitch_unused(for_engine(preset, engine))[0]

        return replace(
            self, voice=mapped(self.voice), presets={n: mapped(p) for n, p in self.presets.items()}
        )

    def rundown(self, aired: Sequence[int], cuts: Mapping[int, Cut] | None = None) -> Rundown:
        """The parts for the stories ``aired``, in that order, each cut as ``cuts`` say."""
        clean = self.clean
        if cuts:
            stories = tuple(cut(s, cuts[n].kept) if n in cuts else s for n, s in enumerate(clean.stories))
            clean = replace(clean, stories=stories)
        return rundown(
            self.programme,
            clean,
            aired,
            values=self.values,
            script=self.script,
            voice=self.voice,
            presets=self.presets,
        )

    def plan(
        self,
        aired: Sequence[int],
        engine: Engine,
        lexicon: Lexicon | None,
        cuts: Mapping[int, Cut] | None = None,
    ) -> tuple[Rundown, Plan]:
        """The rundown of ``aired`` (cut as ``cuts`` say) and its chunk plan, each part in its own voice."""
        parts = self.rundown(aired, cuts)
        planner = Planner(parts.clean(self.clean), lexicon)
        return parts, planner(engine, [v.settings for v in parts.voices()])

    def title(self) -> str:
        """The default title: the programme's name and the air time as it is spoken."""
        name = self.programme.name
        return f"{name} {self.values['date']}{self.values['time']}" if name else ""


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
