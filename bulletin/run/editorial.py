"""The desk's decisions: which stories air, in what order, and how much of each (issue 18).

A producer airs the stories most outlets are running first, cuts each to radio length,
does not lead every hour with the same unchanged story, and can pin, drop and weigh
sources. Those decisions live here, as pure functions on the cleaned stories, so that a
bulletin and a programme edit the same way and each decision is tested on its own:

- :func:`facts_of`: what the desk knows of each story: which sources carried it (distinct
  origins among the articles folded into it, plus each source's ``priority`` as extra
  coverage), when it was last published, a digest of each of its sentences;
- :func:`rank`: the order (pins first, in pin order; then, by importance, stories not aired
  unchanged in the last edition before those that were, more coverage before less, newer
  before older, then the order given), and what is left out before any audio is made
  (dropped by word, over ``max_stories``);
- :func:`cut_to` and :func:`cut`: a story over its budget keeps whole sentences from the
  start (news is written lede first); the first is always kept, even alone over budget;
  no middle sentence is ever dropped while a later one is kept.

Lengths come from the caller: measured speech where there is some (a programme's fit
synthesizes in rounds), estimates at the voice's pace elsewhere (:func:`sentence_lengths`).
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bulletin.hanzi import simplified_table
from bulletin.text.chunk import Chunk, sentences
from bulletin.text.pipeline import CleanText

if TYPE_CHECKING:
    from bulletin.run.options import BuildOptions
    from bulletin.run.programme.file import Programme

#: How stories may be ordered: as given, or by importance (coverage, then recency).
ORDERS = ("given", "importance")
#: What a story is, compared with the last edition's aired stories.
NEW, UPDATED, REPEATED = "new", "updated", "repeated"


@dataclass(frozen=True)
class Desk:
    """The editorial settings of one run (from the options, and a programme's ``[rundown]``)."""

    order: str = "given"
    pins: tuple[str, ...] = ()
    drops: tuple[str, ...] = ()
    #: Rank a story aired unchanged in the last edition after the others (order "importance").
    rotate: bool = False
    #: Each story's budget in seconds (None: read whole).
    budget: float | None = None
    max_stories: int | None = None
    #: Extra coverage per source (the source as named: a feed's URL, a file's path).
    priorities: tuple[tuple[str, int], ...] = ()

    def fingerprint(self) -> dict[str, Any]:
        """What of the desk changes the bytes (for skip-unchanged); nothing when it changes nothing."""
        return {} if self == Desk() else {"desk": repr(self)}


def desk_for(options: BuildOptions, programme: Programme | None) -> Desk:
    """The run's desk: the options' order and budget, else the programme's; its pins, drops, rotation."""
    sources = options.sources
    if programme is None:
        return Desk(
            order=sources.order or "given", budget=sources.story_seconds, max_stories=sources.max_stories
        )
    return Desk(
        order=sources.order or programme.order,
        pins=programme.pins,
        drops=programme.drops,
        rotate=programme.rotate,
        budget=sources.story_seconds if sources.story_seconds is not None else programme.max_seconds,
        max_stories=sources.max_stories,
        priorities=programme.priorities,
    )


@dataclass(frozen=True)
class Facts:
    """What the desk knows of one cleaned story."""

    story: int  # its index in the cleaned text
    headline: str
    lede: str  # its first paragraph
    sources: tuple[str, ...]  # distinct origins of the articles that carried it, in order
    coverage: int  # sources, plus their priorities
    published: datetime | None  # the latest of its articles' times
    sentences: tuple[str, ...]  # a digest of each sentence of the whole story


def digest(sentence: str) -> str:
    """A short digest of a sentence as said: width, spacing and script do not change it."""
    text = "".join(unicodedata.normalize("NFKC", sentence).split()).translate(simplified_table())
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def sentence_digests(paragraphs: Sequence[str]) -> tuple[str, ...]:
    return tuple(digest(s) for p in paragraphs for s in sentences(p))


def facts_of(clean: CleanText, priorities: Mapping[str, int] | None = None) -> tuple[Facts, ...]:
    """Each story's facts; an article named alone (a file) is its own source."""
    weigh = dict(priorities or {})
    out = []
    for n, story in enumerate(clean.stories):
        carried = [clean.articles[i] for i in clean.carried_by(n)] or []
        origins = tuple(dict.fromkeys(a.origin or a.source for a in carried))
        times = [a.published for a in carried if a.published is not None]
        out.append(
            Facts(
                story=n,
                headline=clean.headline(n) or "",
                lede=story[0] if story else "",
                sources=origins,
                coverage=max(1, len(origins)) + sum(max(0, weigh.get(o, 0)) for o in origins),
                published=max(times, key=_timestamp) if times else None,
                sentences=sentence_digests(story),
            )
        )
    return tuple(out)


def status(story: Sequence[str], last: Sequence[Sequence[str]]) -> str:
    """New, updated (it shares sentences with a story aired last time, and has new ones) or repeated."""
    said = set(story)
    if any(said <= set(before) for before in last):
        return REPEATED
    if any(said & set(before) for before in last):
        return UPDATED
    return NEW


@dataclass(frozen=True)
class Entry:
    """One story's line in the rundown: its rank and why, and (once decided) how much of it airs."""

    story: int
    rank: int | None  # from 1, in the order the desk put them; None when dropped by word
    sources: tuple[str, ...]
    coverage: int
    pinned: bool
    status: str
    left_out: str | None = None  # why it is not aired
    budget: float | None = None
    seconds: float | None = None  # as aired (measured), or as estimated by a dry run
    kept: int | None = None  # sentences aired
    dropped: int | None = None  # sentences cut from its end

    @property
    def candidate(self) -> bool:
        """Still in the running (not dropped by word, not over ``max_stories``)."""
        return self.left_out is None

    def to_dict(self, headline: str) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "story": self.story,
            "headline": headline,
            "sources": list(self.sources),
            "coverage": self.coverage,
            "pinned": self.pinned,
            "status": self.status,
            "aired": self.left_out is None,
            "left_out": self.left_out,
            "budget_seconds": self.budget,
            "seconds": None if self.seconds is None else round(self.seconds, 1),
            "sentences_kept": self.kept,
            "sentences_dropped": self.dropped,
        }


def _holds(fact: Facts, words: Sequence[str]) -> int | None:
    """The index of the first of ``words`` in the story's headline or lede (in either script)."""
    table = simplified_table()
    where = (fact.headline + "\n" + fact.lede).translate(table)
    for i, word in enumerate(words):
        if word.translate(table) in where:
            return i
    return None


def rank(facts: Sequence[Facts], desk: Desk, last: Sequence[Sequence[str]] = ()) -> tuple[Entry, ...]:
    """The stories in the desk's order, then those dropped by word (see the module docstring).

    ``last``: the sentence digests of each story aired in the last edition, in aired order.
    """
    led = set(last[0]) if last else set()
    considered: list[tuple[tuple[Any, ...], Entry]] = []
    dropped: list[Entry] = []
    for f in facts:
        state = status(f.sentences, last)
        pin = _holds(f, desk.pins)
        entry = Entry(f.story, None, f.sources, f.coverage, pin is not None, state)
        word = _holds(f, desk.drops)
        if word is not None:
            dropped.append(replace(entry, left_out=f"dropped by word {desk.drops[word]}"))
            continue
        first = (len(desk.pins) if pin is None else pin,)
        if desk.order == "given":
            key: tuple[Any, ...] = (*first, f.story)
        else:
            again = desk.rotate and pin is None and state == REPEATED
            led_last = again and set(f.sentences) <= led  # of the repeated, last edition's lead goes last
            when = -_timestamp(f.published) if f.published else float("inf")
            key = (*first, again, led_last, -f.coverage, when, f.story)
        considered.append((key, entry))
    ordered = [e for _k, e in sorted(considered, key=lambda pair: pair[0])]
    ranked = []
    for n, entry in enumerate(ordered):
        over = desk.max_stories is not None and n >= desk.max_stories
        ranked.append(
            replace(entry, rank=n + 1, left_out=f"over max_stories ({desk.max_stories})" if over else None)
        )
    return (*ranked, *dropped)


def _timestamp(when: datetime) -> float:
    return when.timestamp() if when.tzinfo else when.replace(tzinfo=None).timestamp()


@dataclass(frozen=True)
class Cut:
    """How much of a story airs: its first ``kept`` of ``total`` sentences, lasting ``seconds``."""

    kept: int
    total: int
    seconds: float


def cut_to(lengths: Sequence[float], gaps: Sequence[float], budget: float | None) -> Cut:
    """The longest run of sentences from the start that lasts at most ``budget`` (always the first).

    ``lengths``: each sentence's seconds; ``gaps``: the pause after each sentence but the last.
    """
    if not lengths:
        return Cut(0, 0, 0.0)
    kept, total = 1, lengths[0]
    for i in range(1, len(lengths)):
        longer = total + gaps[i - 1] + lengths[i]
        if budget is not None and longer > budget:
            break
        kept, total = kept + 1, longer
    return Cut(kept, len(lengths), total)


def cut(paragraphs: Sequence[str], keep: int) -> tuple[str, ...]:
    """The story's first ``keep`` sentences, in their paragraphs (a paragraph cut where they end)."""
    out: list[str] = []
    left = keep
    for paragraph in paragraphs:
        if left <= 0:
            break
        said = sentences(paragraph)
        if len(said) <= left:
            out.append(paragraph)
        else:
            out.append("".join(said[:left]).rstrip())
        left -= len(said)
    return tuple(out)


def sentence_lengths(
    chunks: Sequence[Chunk], seconds: Sequence[float], pauses: Mapping[str, float]
) -> dict[int, tuple[list[float], list[float]]]:
    """Per story of ``chunks``: each sentence's seconds (its chunks and the clause pauses within it)
    and the pause after each sentence (but the story's last)."""
    stories: dict[int, tuple[list[float], list[float]]] = {}
    current: tuple[int, int] | None = None
    pending = 0.0
    for chunk, length in zip(chunks, seconds, strict=True):
        lengths, gaps = stories.setdefault(chunk.story, ([], []))
        if current != (chunk.story, chunk.sentence):
            if current is not None and current[0] == chunk.story:
                gaps.append(pending)
            lengths.append(0.0)
            current = (chunk.story, chunk.sentence)
        elif pending:  # a clause pause inside the sentence
            lengths[-1] += pending
        lengths[-1] += length
        pending = pauses.get(chunk.pause_after, 0.0)
    return stories


@dataclass(frozen=True)
class Edition:
    """One edition's rundown: the desk, each story's facts, and its line (in the desk's order)."""

    desk: Desk
    facts: tuple[Facts, ...]
    entries: tuple[Entry, ...]

    @classmethod
    def make(cls, clean: CleanText, desk: Desk, last: Sequence[Sequence[str]] = ()) -> Edition:
        facts = facts_of(clean, dict(desk.priorities))
        return cls(desk, facts, rank(facts, desk, last))

    @property
    def order(self) -> tuple[int, ...]:
        """The stories still in the running, best first (the fit takes them in this order)."""
        return tuple(e.story for e in self.entries if e.candidate)

    def settled(
        self, aired: Sequence[int], cuts: Mapping[int, Cut], seconds: Mapping[int, float] | None = None
    ) -> Edition:
        """The rundown once decided: ``aired`` in their order first, cut as ``cuts`` say, lasting
        ``seconds`` (measured; else as the cuts estimate); the other candidates "did not fit"."""
        by_story = {e.story: e for e in self.entries}
        out = []
        for n in aired:
            c = cuts.get(n)
            entry = by_story[n]
            if c is not None:
                length = (seconds or {}).get(n, c.seconds)
                entry = replace(entry, kept=c.kept, dropped=c.total - c.kept, seconds=length)
            out.append(replace(entry, budget=self.desk.budget))
        for e in self.entries:
            if e.story not in aired:
                left = replace(e, left_out="did not fit") if e.candidate else e
                out.append(replace(left, budget=self.desk.budget))
        return replace(self, entries=tuple(out))

    def remembered(self, aired: Sequence[int]) -> tuple[tuple[str, ...], ...]:
        """What the next edition is told this one aired: each aired story's sentence digests."""
        return tuple(self.facts[n].sentences for n in aired)

    def lines(self, clean: CleanText) -> list[dict[str, Any]]:
        """Each story's line, for the dry run's JSON and the report."""
        return [e.to_dict(_headline(clean, e.story)) for e in self.entries]

    def table(self, clean: CleanText) -> list[str]:
        """The rundown as a table, for ``-v``."""
        rows = ["rundown: rank  sources  status    budget  aired   sentences  story"]
        for e in self.entries:
            pin = "pinned " if e.pinned else ""
            budget = f"{e.budget:g}s" if e.budget is not None else "-"
            if e.left_out is None:
                aired = f"{e.seconds:5.1f}s" if e.seconds is not None else "whole"
                kept = f"{e.kept} of {e.kept + (e.dropped or 0)}" if e.kept is not None else "all"
            else:
                aired, kept = "  -   ", e.left_out or "-"
            rank_ = str(e.rank) if e.rank is not None else "-"
            rows.append(
                f"  {rank_:>4}  {e.coverage:>7}  {pin + e.status:<9} {budget:>6}  {aired:>6}  {kept:<9}  "
                f"{_headline(clean, e.story)}"
            )
        return rows


def _headline(clean: CleanText, story: int) -> str:
    return clean.headline(story) or (clean.stories[story][0][:30] if clean.stories[story] else "")


def edited(clean: CleanText, aired: Sequence[int], cuts: Mapping[int, Cut] | None = None) -> CleanText:
    """``clean`` with only the stories ``aired``, in that order, each cut as ``cuts`` say."""
    cuts = cuts or {}
    stories = tuple(cut(clean.stories[n], cuts[n].kept) if n in cuts else clean.stories[n] for n in aired)
    return replace(
        clean,
        stories=stories,
        headlines=tuple(clean.headline(n) for n in aired),
        kept=tuple(clean.kept[n] for n in aired if n < len(clean.kept)),
    )
