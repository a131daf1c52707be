"""An article's parts: headline, dateline, byline and body (stage: structure, after repair).

Wire copy and web pages open with furniture that a newsreader never says: the headline
(the bulletin reads it, if at all, in its own segment, not run into the lede), the
agency's dateline (``（中央社記者張茂森台北26日電）``, ``新华社北京11月26日电（记者…）``,
``本報訊``), the byline (``【記者林小美／台北報導】``), flash markers (``快訊／``) and end
marks (``（完）``, which :mod:`bulletin.text.repair` already drops with the editors'
credits). This module finds them in repaired paragraphs and keeps them apart, so that
``clean --json`` and the dry run can show them and the voice does not read them.

It works on text only (plain ``.txt`` articles get the same treatment as feeds and pages)
and is pure: same paragraphs in, same :class:`Structure` out.

Patterns are matched after repair, which turns ``／`` between Chinese words into ``，`` and
full-width digits into ASCII; they accept both forms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from bulletin.text.chars import CLOSERS, SENTENCE_END
from bulletin.text.furniture import (
    BRACKETED_BYLINE,
    BRACKETED_DATELINE,
    BYLINE_ANYWHERE,
    BYLINE_LINE,
    BYLINE_PREFIX,
    CREDIT_TAIL,
    DATELINE,
    FLASH,
    OUTLET_DATELINE,
    PAPER,
    WIRE_CODE,
)

#: The longest headline taken as one (longer first lines are the lede).
HEADLINE_MAX = 60


@dataclass(frozen=True)
class Structure:
    """What an article is made of; only :attr:`paragraphs` (and the headline with
    ``--keep-headlines``) is spoken."""

    headline: str | None
    dateline: str | None
    byline: str | None
    paragraphs: tuple[str, ...]
    source: str
    url: str | None = None
    published: datetime | None = None
    origin: str | None = None
    #: Furniture taken out of the text, as written (flash markers, datelines, bylines).
    removed: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, object]:
        return {
            "headline": self.headline,
            "dateline": self.dateline,
            "byline": self.byline,
            "paragraphs": list(self.paragraphs),
            "source": self.origin or self.source,
            "path": self.source,
            "url": self.url,
            "published": self.published.isoformat() if self.published else None,
            "removed": list(self.removed),
        }


def _ends_sentence(text: str) -> bool:
    return text.rstrip(CLOSERS)[-1:] in SENTENCE_END if text.rstrip(CLOSERS) else False


def looks_like_headline(paragraph: str) -> bool:
    """A title line: short, and no sentence in it (no 。/；, no sentence-final mark at its end).

    A headline has at most one break (``星艦第12次試飛，超重型推進器成功回收``, a space that
    repair made a comma); a line of three clauses is a lede that lost its 。, and is read.
    """
    return (
        len(paragraph) <= HEADLINE_MAX
        and not any(mark in paragraph for mark in "。；;")
        and sum(paragraph.count(mark) for mark in "，,、") <= 1
        and not _ends_sentence(paragraph)
    )


def _same(a: str, b: str) -> bool:
    """Is paragraph ``a`` the headline ``b`` (as repaired: spaces may have become commas)?"""
    squash = re.compile(r"[\s，,、：:｜|／/]")
    return squash.sub("", a) == squash.sub("", b)


class _Strip:
    """Takes furniture off the front of a paragraph, remembering what was taken and as what."""

    def __init__(self) -> None:
        self.dateline: str | None = None
        self.byline: str | None = None
        self.removed: list[str] = []

    def front(self, paragraph: str) -> str:
        for _ in range(4):  # 快訊／【記者…】, 本報訊（記者…）: a few pieces in a row
            for pattern, kind in (
                (FLASH, "flash"),
                (BRACKETED_DATELINE, "dateline"),
                (DATELINE, "dateline"),
                (OUTLET_DATELINE, "dateline"),
                (PAPER, "dateline"),
                (BRACKETED_BYLINE, "byline"),
                (BYLINE_PREFIX, "byline"),
            ):
                m = pattern.match(paragraph)
                if m and m.end() > 0:
                    self._note(m.group().strip(), kind)
                    paragraph = paragraph[m.end() :].lstrip("，,：: ")
                    break
            else:
                break
        if BYLINE_LINE.match(paragraph) and not _ends_sentence(paragraph):
            self._note(paragraph, "byline")
            return ""
        return paragraph

    def _note(self, piece: str, kind: str) -> None:
        piece = piece.rstrip("，,：: ")
        self.removed.append(piece)
        if kind == "dateline" and self.dateline is None:
            self.dateline = piece
        elif kind == "byline" and self.byline is None:
            self.byline = piece


#: Furniture that, found a little way into the first paragraph, ends a headline run into it.
_RUN_IN = re.compile(
    "|".join(
        f"(?:{p.pattern[1:]})" for p in (BRACKETED_DATELINE, DATELINE, PAPER, BRACKETED_BYLINE, BYLINE_PREFIX)
    )
)


def _run_in_headline(body: list[str], strip: _Strip) -> str | None:
    """A headline joined to the dateline after it (``北市大樓火警（中央社…電）…``): split it off.

    Two-line articles are joined by repair (it cannot tell a headline from a wrapped line
    there); the dateline or byline right after a title-like start marks where it ended.
    """
    probe = _Strip()
    rest = probe.front(body[0])  # a flash marker may open it; a dateline or byline may not
    if probe.dateline or probe.byline or not rest:
        return None
    m = _RUN_IN.search(rest, 4, HEADLINE_MAX + 60)
    if m is None:
        return None
    title = rest[: m.start()].rstrip("，, ")
    if not title or not looks_like_headline(title):
        return None
    strip.removed.extend(probe.removed)
    body[0] = rest[m.start() :]
    return title


def _opens_with_furniture(paragraph: str) -> bool:
    probe = _Strip()
    rest = probe.front(paragraph)
    return bool(probe.dateline or probe.byline) and bool(rest)


def structure(
    paragraphs: list[str],
    *,
    source: str,
    headline: str | None = None,
    url: str | None = None,
    published: datetime | None = None,
    origin: str | None = None,
) -> Structure:
    """Split repaired paragraphs into headline, dateline, byline and body.

    ``headline``: the title a feed or page gave; when None, the first paragraph is taken
    as the headline if it looks like one (short, no sentence in it) and more text follows.
    A headline repeated as the first paragraph (pages often carry it in the body) is
    dropped from the body.
    """
    body = list(paragraphs)
    strip = _Strip()
    if headline is not None:
        headline = strip.front(headline.strip()) or headline.strip()
        while body and (_same(body[0], headline) or _same(_Strip().front(body[0]), headline)):
            body.pop(0)
    elif len(body) > 1 and looks_like_headline(body[0]):
        probe = _Strip()
        first = probe.front(body[0])
        if first:  # a first line that is only a dateline or byline is no headline
            headline = first
            strip.removed.extend(probe.removed)
            body.pop(0)
    if headline is None and body:
        headline = _run_in_headline(body, strip)
    if len(body) > 2 and looks_like_headline(body[0]) and _opens_with_furniture(body[1]):
        # a title right above the dateline or byline is the headline, whatever the page's
        # <title> said (a site name, a section)
        strip.removed.append(body.pop(0))
    kept: list[str] = []
    for n, paragraph in enumerate(body):
        if n < 3 and not kept:  # furniture opens the story: the first paragraphs that have text
            paragraph = strip.front(paragraph)
        elif BYLINE_LINE.match(paragraph) and not _ends_sentence(paragraph) and len(paragraph) <= 30:
            strip._note(paragraph, "byline")
            paragraph = ""
        for m in reversed(list(BYLINE_ANYWHERE.finditer(paragraph))):  # …救人。（林大同報導）
            strip._note(m.group().strip(), "byline")
            paragraph = paragraph[: m.start()] + paragraph[m.end() :]
        if paragraph.strip():
            kept.append(paragraph.strip())
    for pattern in (CREDIT_TAIL, WIRE_CODE, CREDIT_TAIL):  # （編輯：林克倫）1151126, …可期。1141126
        if kept and (tail := pattern.search(kept[-1])):
            strip.removed.append(tail.group().strip())
            kept[-1] = kept[-1][: tail.start()].rstrip()
            if not kept[-1]:
                kept.pop()
    return Structure(
        headline=headline or None,
        dateline=strip.dateline,
        byline=strip.byline,
        paragraphs=tuple(kept),
        source=source,
        url=url,
        published=published,
        origin=origin,
        removed=tuple(strip.removed),
    )
