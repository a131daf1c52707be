"""Which stories a programme airs so that it lasts its slot: the fitting loop, in one place.

Two questions, two functions:

- :func:`choose_by_estimate`: the stories, in the desk's order (:mod:`bulletin.run.editorial`),
  each cut to its budget at a sentence end, that fit at the lengths known so far
  (measured speech where there is some, estimates at the voice's measured pace
  elsewhere). The dry run and the preview stop here; so does the engine choice, to ask
  whether every chunk of the rundown is cached.
- :func:`fit_to_slot`: the build's loop. In rounds, choose by estimate, have the chunks not
  yet measured synthesized (``measure``), and choose again, until a choice needs nothing
  new; if the rounds run out, drop stories from the end until the measured programme
  fits. Every chunk is synthesized at most once (its speech is kept by chunk key).

How long a given layout lasts, and the pause scale and tempo that make it end on the
slot, is :func:`bulletin.audio.mix.fit` (arithmetic on lengths, no audio).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bulletin.audio.settings import Pauses
from bulletin.audio.timeline import Fit
from bulletin.engines.base import Engine
from bulletin.errors import SlotOverrun
from bulletin.run.editorial import Cut, cut_to, sentence_lengths
from bulletin.run.programme.rundown import Rundown
from bulletin.run.programme.show import Show
from bulletin.run.speak import Plan
from bulletin.text.chars import is_speakable
from bulletin.text.lexicon import Lexicon
from bulletin.text.pipeline import CHARS_PER_SECOND, rate_factor

if TYPE_CHECKING:
    from bulletin.audio.mix import Section

#: Until the real lengths are measured, stories are chosen as if speech were this much
#: shorter than estimated: a story too many costs one synthesis and is dropped after
#: measuring; one too few would leave the slot short for good.
OPTIMISM = 0.9
#: No story is tried once the programme is within this many seconds of its slot.
ROOM = 3.0

#: A chunk's measured speech in seconds by key, None when not measured yet.
Measured = Callable[[str], "float | None"]


@dataclass(frozen=True)
class Fitted:
    """The programme as it will air: its rundown and plan, laid out and fitted, and what was left out."""

    parts: Rundown
    plan: Plan
    sections: tuple[Section, ...]
    fit: Fit
    dropped: tuple[int, ...] = field(default=())
    cuts: dict[int, Cut] = field(default_factory=dict)


def estimated_seconds(plan: Plan) -> dict[str, float]:
    """Each chunk's speech by key, estimated from its speakable characters and its voice's rate."""
    return {
        key: sum(1 for ch in chunk.spoken if is_speakable(ch)) / (CHARS_PER_SECOND * rate_factor(voice.rate))
        for chunk, key, voice in zip(plan.chunks, plan.keys, plan.voices, strict=True)
    }


def cuts_of(
    parts: Rundown, plan: Plan, seconds: Callable[[str], float], pauses: Pauses, budget: float | None
) -> dict[int, Cut]:
    """How much of each story of ``parts`` airs within ``budget``, at the lengths ``seconds`` gives
    its chunks (measured or estimated): whole sentences from the start
    (:func:`bulletin.run.editorial.cut_to`)."""
    lengths = sentence_lengths(plan.chunks, [seconds(k) for k in plan.keys], pauses.table())
    return {
        part.story: cut_to(*lengths[n], budget)
        for n, part in enumerate(parts.spoken)
        if part.story is not None and n in lengths
    }


@dataclass(frozen=True)
class Choice:
    """The stories chosen, in order, how much of each, and how the programme then fits."""

    aired: list[int]
    fit: Fit
    cuts: dict[int, Cut]


def choose_by_estimate(
    show: Show,
    engine: Engine,
    lexicon: Lexicon | None,
    sounds: Mapping[Path, float],
    pauses: Pauses,
    *,
    measured: Measured | None = None,
    optimism: float = OPTIMISM,
) -> Choice:
    """The stories, in the desk's order, that fit the slot, each cut to its budget; one that
    does not fit is skipped and the next ones tried (a short story may still fit where a
    long one did not). Without a slot, every story in the running.

    A chunk's length is ``measured(key)`` when it is known, else its estimate, scaled by
    how the measured chunks compared with their estimates (the voice's real pace), or by
    ``optimism`` before anything is measured. Each story is cut at those lengths.
    """
    from bulletin.audio.mix import fit

    slot, budget = show.programme.slot, show.edition.desk.budget
    known: dict[str, float] = {}
    guessed: dict[str, float] = {}

    def learn(plan: Plan) -> None:
        for key, guess in estimated_seconds(plan).items():
            guessed[key] = guess
            real = measured(key) if measured is not None else None
            if real is not None:
                known[key] = real

    def try_fit(aired: list[int]) -> Choice:
        parts, plan = show.plan(aired, engine, lexicon)
        learn(plan)
        pace = sum(known.values()) / sum(guessed[k] for k in known) if known else optimism
        seconds = lambda k: known.get(k, guessed[k] * pace)  # noqa: E731
        cuts = cuts_of(parts, plan, seconds, pauses, budget)
        if budget is not None:
            parts, plan = show.plan(aired, engine, lexicon, cuts)
        fitted = fit(parts.sections(plan.chunks), plan.chunks, plan.keys, seconds, sounds, pauses, slot)
        return Choice(aired, fitted, cuts)

    every = list(show.edition.order)
    if slot is None or not every:
        return try_fit(every)
    try_fit(every)  # learn what is measured first, so the pace is known throughout
    best = try_fit([])
    for n in every:
        if slot - best.fit.seconds < ROOM:
            break
        trial = try_fit([*best.aired, n])
        if trial.fit.fits:
            best = trial
    if not best.aired:  # not even the first story fits: it is read anyway, and the overrun said
        best = try_fit(every[:1])
    return best


def fit_to_slot(
    show: Show,
    engine: Engine,
    lexicon: Lexicon | None,
    sounds: Mapping[Path, float],
    pauses: Pauses,
    *,
    measured: Measured,
    measure: Callable[[Plan], bool],
) -> Fitted:
    """The stories that fit the slot at their measured lengths (see the module docstring).

    ``measure(plan)`` synthesizes and measures the chunks of ``plan`` that ``measured``
    does not know yet, and says whether there were any. Raises
    :class:`~bulletin.errors.SlotOverrun` when not even one story fits.
    """
    from bulletin.audio.mix import fit

    slot = show.programme.slot
    for _ in range(len(show.clean.stories) + 2):  # each round measures stories not measured before
        choice = choose_by_estimate(show, engine, lexicon, sounds, pauses, measured=measured)
        aired, cuts = choice.aired, choice.cuts
        parts, plan = show.plan(aired, engine, lexicon, cuts)
        if not measure(plan):
            break
    dropped = [n for n in show.edition.order if n not in aired]
    while True:  # only if the rounds ran out: drop from the end until it fits
        sections = parts.sections(plan.chunks)
        seconds = lambda key: measured(key) or 0.0  # noqa: E731  (every chunk is measured by now)
        fitted = fit(sections, plan.chunks, plan.keys, seconds, sounds, pauses, slot)
        if fitted.fits or len(aired) <= 1:
            break
        dropped.append(aired.pop())
        parts, plan = show.plan(aired, engine, lexicon, cuts)
        measure(plan)
    if not fitted.fits:  # not even one story fits: an overlong programme would break the playout
        raise SlotOverrun(
            f"programme {show.programme.path}: with even its shortest story it lasts "
            f"{fitted.seconds:.1f} s, over its {slot:g} s slot; nothing published "
            "(lengthen the slot, or shorten the opener, closer or jingles)"
        )
    return Fitted(
        parts, plan, sections, fitted, tuple(sorted(dropped)), {n: cuts[n] for n in aired if n in cuts}
    )


def first_sections(sections: Sequence[Section], count: int) -> list[Section]:
    """The sections heard within the first ``count`` chunks (a preview), cut there, nothing after."""
    from dataclasses import replace

    heard = []
    for section in sections:
        if section.chunks and section.chunks[0] >= count:
            break
        heard.append(replace(section, chunks=tuple(c for c in section.chunks if c < count)))
        if section.chunks and section.chunks[-1] >= count - 1:
            break
    return heard
