"""What a programme says, part by part: the rundown (opener, headlines, stories, closer).

Pure: a checked :class:`~bulletin.run.programme.file.Programme`, the cleaned stories, which
of them are aired, the air time's spoken forms and the voices give the parts in order.
Headlines name only the stories that are aired, so when the slot drops a story the
rundown is simply made again without it. The parts become the "stories" of a
:class:`~bulletin.text.pipeline.CleanText` (:meth:`Rundown.clean`), so chunking,
normalization, the cache and subtitles treat a programme as they treat a bulletin.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from bulletin.run.presets import Preset
from bulletin.run.programme.file import Programme
from bulletin.text.chars import split_sentences
from bulletin.text.chunk import Chunk
from bulletin.text.pipeline import CleanText

if TYPE_CHECKING:
    from bulletin.audio.mix import Section

#: Chapter titles of the parts that are not stories, in each script.
TITLES = {
    "hant": {"opener": "開場", "headlines": "頭條新聞", "closer": "結語"},
    "hans": {"opener": "开场", "headlines": "头条新闻", "closer": "结语"},
}


@dataclass(frozen=True)
class Part:
    """One part: what it says (paragraphs; none for a jingle alone), who says it, what plays around it."""

    kind: str  # "opener", "headlines", "story", "closer"
    title: str  # its chapter title
    paragraphs: tuple[str, ...]
    voice: Preset
    story: int | None = None  # for a story: its index in the cleaned text
    before: Path | None = None
    after: Path | None = None
    bed: Path | None = None
    fill: bool = False


@dataclass(frozen=True)
class Rundown:
    """The parts of one programme, in order, and the headlines it names."""

    parts: tuple[Part, ...]
    headlines: tuple[str, ...]

    @property
    def spoken(self) -> tuple[Part, ...]:
        """The parts with something to say, in order (the "stories" of :meth:`clean`)."""
        return tuple(p for p in self.parts if p.paragraphs)

    @property
    def aired(self) -> tuple[int, ...]:
        """The cleaned text's stories that are read, in order."""
        return tuple(p.story for p in self.parts if p.story is not None)

    def clean(self, clean: CleanText) -> CleanText:
        """``clean`` with the programme's parts as its stories (so it is planned as a bulletin is)."""
        spoken = self.spoken
        return replace(
            clean,
            stories=tuple(p.paragraphs for p in spoken),
            headlines=tuple(clean.headline(p.story) if p.story is not None else p.title for p in spoken),
        )

    def voices(self) -> tuple[Preset, ...]:
        """Each spoken part's voice, in the order of :meth:`clean`'s stories."""
        return tuple(p.voice for p in self.spoken)

    def sections(self, chunks: Sequence[Chunk]) -> tuple[Section, ...]:
        """The parts as the mixer lays them out, each with the indexes of its chunks."""
        from bulletin.audio.mix import Section

        index = {id(p): n for n, p in enumerate(self.spoken)}
        return tuple(
            Section(
                kind=p.kind,
                title=p.title,
                chunks=tuple(c.index for c in chunks if id(p) in index and c.story == index[id(p)]),
                before=p.before,
                after=p.after,
                bed=p.bed,
                fill=p.fill,
            )
            for p in self.parts
        )


def rundown(
    programme: Programme,
    clean: CleanText,
    aired: Sequence[int],
    *,
    values: Mapping[str, str],
    script: str,
    voice: Preset,
    presets: Mapping[str, Preset],
) -> Rundown:
    """The programme's parts for the stories ``aired`` (indexes into ``clean.stories``).

    ``values``: the placeholders' texts (``name``, ``date``, ``weekday``, ``time``) in
    ``script``, the script of the programme's voice; ``voice``: the programme's voice;
    ``presets``: every other voice the programme names, by name.
    """
    titles = TITLES.get(script, TITLES["hans"])

    def said(text: str | None) -> tuple[str, ...]:
        return (text.format_map(values).strip(),) if text and text.format_map(values).strip() else ()

    def who(name: str | None) -> Preset:
        return presets[name] if name else voice

    parts: list[Part] = []
    o = programme.opener
    if o.text or o.audio:
        parts.append(
            Part(
                "opener",
                programme.name or titles["opener"],
                said(o.text),
                who(o.voice),
                before=o.audio,
                bed=o.bed,
            )
        )
    named = [said_headline(clean, n) for n in aired[: programme.headlines.count]]
    if named:
        h = programme.headlines
        lines = (*said(h.text), *(_sentence(t) for t in named))
        parts.append(Part("headlines", titles["headlines"], lines, who(h.voice), bed=o.bed))
    anchors = programme.stories.voices
    for turn, n in enumerate(aired):
        anchor = who(anchors[turn % len(anchors)] if anchors else None)
        sting = programme.stories.sting if turn else None
        parts.append(Part("story", headline_of(clean, n), clean.stories[n], anchor, story=n, before=sting))
    c = programme.closer
    if c.text or c.audio or c.bed:
        parts.append(
            Part("closer", titles["closer"], said(c.text), who(c.voice), after=c.audio, bed=c.bed, fill=True)
        )
    return Rundown(tuple(parts), tuple(named))


def headline_of(clean: CleanText, story: int) -> str:
    """A story's headline: its article's, else the start of its first sentence (as a title is made)."""
    from bulletin.publish.tags import default_title

    return default_title(clean.headline(story) or clean.stories[story][0])


def said_headline(clean: CleanText, story: int) -> str:
    """What the anchor reads as a story's headline: its article's, whole; without one, the
    first clause of its first sentence (the whole sentence when that clause is long)."""
    if headline := clean.headline(story):
        return " ".join(headline.split())
    first = split_sentences(clean.stories[story][0])[0].strip()
    clause = re.split(r"(?<=[，、：；])", first, maxsplit=1)[0].rstrip("，、：；")
    return clause if 6 <= len(clause) <= 40 else first.rstrip("。！？!?")


def _sentence(headline: str) -> str:
    """A headline read as a sentence of its own (a full stop, unless it ends in one)."""
    return headline if headline.endswith(("。", "！", "？", "!", "?")) else headline + "。"
