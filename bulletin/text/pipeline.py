"""The text half of the pipeline as one library call:
read → repair → structure → fold → dedupe → (normalize → chunk).

``prepare`` gives the cleaned stories (what ``bulletin clean`` prints); ``plan`` cuts
them into chunks for a given engine limit, each with its spoken form.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from bulletin.errors import InputError
from bulletin.text.chars import has_han, is_speakable
from bulletin.text.chunk import Chunk, plan_chunks
from bulletin.text.dedupe import DedupeStats, dedupe_each
from bulletin.text.detect import garbled
from bulletin.text.fold import Fold, fold
from bulletin.text.lexicon import Lexicon
from bulletin.text.normalize import detect_script, to_spoken
from bulletin.text.read import Article, read_articles
from bulletin.text.repair import repair
from bulletin.text.structure import Structure, structure

#: Mandarin newsreading at rate +0%: about 4–6 characters a second (the estimate uses 5).
CHARS_PER_SECOND = 5.0


@dataclass(frozen=True)
class CleanText:
    """Repaired, deduplicated stories (one per event told by an article that had anything new)."""

    articles: tuple[Article, ...]
    stories: tuple[tuple[str, ...], ...]
    removed: DedupeStats
    script: str  # "hant" (Traditional) or "hans" (Simplified)
    #: Each article's parts (headline, dateline, byline, body), in the order read.
    structures: tuple[Structure, ...] = ()
    #: Articles read as one story (same event): which was kept, which were folded into it.
    folded: tuple[Fold, ...] = ()
    #: Feed items and folder files with nothing to say, skipped: (source, why).
    dropped: tuple[tuple[str, str], ...] = ()
    #: Each story's headline (of the article whose version is read), None when it had none.
    headlines: tuple[str | None, ...] = ()
    #: Each story's article (index into ``articles``): the version read; with ``folded``,
    #: which articles carried the story (the rundown counts its sources).
    kept: tuple[int, ...] = ()

    def carried_by(self, story: int) -> tuple[int, ...]:
        """The articles that told story ``story``: the one read, then those folded into it."""
        if story >= len(self.kept):
            return ()
        first = self.kept[story]
        return (first, *(f.index for fold in self.folded if fold.kept == first for f in fold.folded))

    def headline(self, story: int) -> str | None:
        """Story ``story``'s headline, if its article had one."""
        return self.headlines[story] if story < len(self.headlines) else None

    def folds(self) -> list[dict[str, object]]:
        """The folds for JSON (``clean --json``, the dry run, the report)."""
        sources = [a.source for a in self.articles]
        return [f.to_dict(sources) for f in self.folded]

    def fold_lines(self) -> list[str]:
        """One line per folded article, for ``-v``."""
        sources = [_display(a.source) for a in self.articles]
        lines = []
        for story in self.folded:
            for f in story.folded:
                via = "" if f.matched == story.kept else f" with {sources[f.matched]}"
                lines.append(
                    f"folded {sources[f.index]} into {sources[story.kept]}: same event "
                    f"(similarity {f.similarity:.2f}{via})"
                )
        return lines

    @property
    def text(self) -> str:
        """One paragraph per line, a blank line between stories."""
        return "\n\n".join("\n".join(story) for story in self.stories)

    @property
    def characters(self) -> int:
        return sum(len(p) for story in self.stories for p in story)


class NothingUsable(InputError):
    """Every article was an item of a feed or folder with nothing to say (``dropped`` says why)."""

    def __init__(self, dropped: list[tuple[str, str]]) -> None:
        first = f"{_display(dropped[0][0])}: {dropped[0][1]}" if dropped else "no articles"
        super().__init__(first if len(dropped) == 1 else f"{first} (and {len(dropped) - 1} more)")
        self.dropped = tuple(dropped)


def _display(source: str) -> str:
    return "<stdin>" if source == "-" else source


def clean_articles(
    articles: Iterable[Article], *, keep_headlines: bool = False, same_story: bool = True
) -> CleanText:
    """Repair, take apart, fold and deduplicate already-read articles (pure).

    Datelines, bylines and flash markers are never spoken; the headline is not read as the
    story's first sentence unless ``keep_headlines`` (the behaviour before headlines were
    told apart). ``same_story``: articles about one event become one story; folding comes
    before sentence dedupe, so the version kept of an event is read whole. An article whose
    text or headline is garbled (:func:`bulletin.text.detect.garbled`: undecodable bytes, a
    wrong encoding) is left out and listed in ``dropped``, wherever it came from.
    """
    usable: list[Article] = []
    stories: list[list[str]] = []
    structures: list[Structure] = []
    dropped: list[tuple[str, str]] = []
    for article in articles:
        parts = _structure(article)
        paragraphs = list(parts.paragraphs)
        if keep_headlines and parts.headline:
            paragraphs.insert(0, parts.headline)
        joined = "".join(paragraphs)
        problem = None
        if not is_speakable(joined):
            problem = "nothing to speak (punctuation, symbols or wire furniture only)"
        elif not has_han(joined):
            problem = "no Chinese text to speak"
        elif (why := garbled(joined + (parts.headline or ""))) is not None:
            # never spoken, wherever it came from: left out with a warning, the rest is read
            dropped.append((article.source, why))
            continue
        if problem is not None:
            if article.origin is None:  # an article named on the command line: a usage error
                raise InputError(f"{_display(article.source)}: {problem}")
            dropped.append((article.source, problem))  # one item of a feed or folder: skipped
            continue
        usable.append(article)
        structures.append(parts)
        # separator lines (——, ＊＊＊) say nothing, and Edge answers them with no audio
        stories.append([p for p in paragraphs if is_speakable(p)])
    if not usable:
        raise NothingUsable(dropped)
    articles = tuple(usable)
    folds: tuple[Fold, ...] = ()
    order = list(range(len(stories)))
    if same_story and len(stories) > 1:
        sites = [_site(a) for a in articles]
        order, folds = fold(stories, detect_script("".join("".join(s) for s in stories)), sites)
        stories = [stories[i] for i in order]
    each, removed = dedupe_each(stories)
    kept = [story for story in each if story]
    headlines = tuple(structures[order[n]].headline for n, story in enumerate(each) if story)
    kept_articles = tuple(order[n] for n, story in enumerate(each) if story)
    if not kept:  # pragma: no cover - dedupe always keeps the first occurrence
        raise InputError("nothing left to speak after removing repeats")
    text = "".join("".join(s) for s in kept)
    return CleanText(
        articles,
        tuple(tuple(s) for s in kept),
        removed,
        detect_script(text),
        structures=tuple(structures),
        folded=folds,
        dropped=tuple(dropped),
        headlines=headlines,
        kept=kept_articles,
    )


def _site(article: Article) -> str | None:
    """The site an article came from (its page's host, else its feed or folder), for folding."""
    if article.url:
        host = urlsplit(article.url).hostname
        if host:
            return host
    return article.origin


def _structure(article: Article) -> Structure:
    headline = "".join(repair(article.headline)) if article.headline else None
    return structure(
        repair(article.text),
        source=article.source,
        headline=headline or None,
        url=article.url,
        published=article.published,
        origin=article.origin,
    )


def limit_stories(clean: CleanText, count: int | None) -> CleanText:
    """The first ``count`` stories (``--max-stories``); every article read stays listed."""
    if count is None or len(clean.stories) <= count:
        return clean
    return replace(
        clean, stories=clean.stories[:count], headlines=clean.headlines[:count], kept=clean.kept[:count]
    )


def prepare(
    sources: Iterable[str | Path],
    *,
    encoding: str | None = None,
    stdin: BinaryIO | None = None,
    keep_headlines: bool = False,
    same_story: bool = True,
) -> CleanText:
    """Read, repair, fold and deduplicate articles from paths (``-`` for stdin)."""
    return clean_articles(
        read_articles(sources, encoding=encoding, stdin=stdin),
        keep_headlines=keep_headlines,
        same_story=same_story,
    )


def plan(clean: CleanText, limit: int, lexicon: Lexicon | None = None) -> list[Chunk]:
    """Chunks of at most ``limit`` spoken characters, each with its spoken form.

    Numbers are read in each story's own script (a Simplified story in a mostly
    Traditional bulletin still gets 点 and 亿). Words of ``lexicon`` are replaced in
    the spoken form first (so a lexicon word may hold digits: ``G7``), then numbers read.
    """
    speakers = [
        functools.partial(speak, script=detect_script("".join(s)), lexicon=lexicon) for s in clean.stories
    ]
    return plan_chunks([list(s) for s in clean.stories], limit, speakers)


def speak(text: str, *, script: str, lexicon: Lexicon | None = None) -> str:
    """What the engines are sent for ``text``: lexicon words replaced, then numbers read."""
    if lexicon:
        text = lexicon.apply(text, script)
    return to_spoken(text, script=script)  # type: ignore[arg-type]


def rate_factor(rate: str) -> float:
    """Speed multiplier of an edge-tts rate such as ``+10%``."""
    return max(0.1, 1.0 + int(rate.rstrip("%")) / 100.0)


def estimate_seconds(chunks: Iterable[Chunk], pauses: Mapping[str, float], rate: str = "+0%") -> float:
    """Rough duration of the bulletin: speech at :data:`CHARS_PER_SECOND` plus the pauses."""
    speed = CHARS_PER_SECOND * rate_factor(rate)
    total = 0.0
    for chunk in chunks:
        total += sum(1 for ch in chunk.spoken if is_speakable(ch)) / speed
        total += pauses.get(chunk.pause_after, 0.0)
    return round(total, 1)
