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

#: News agencies and papers whose datelines open wire copy (both scripts).
_AGENCIES = (
    "中央社|中央通訊社|中央通讯社|新華社|新华社|中新社|中新網|中新网|法新社|路透社|路透|美聯社|美联社|"
    "共同社|韓聯社|韩联社|德新社|塔斯社|人民網|人民网|央視新聞|央视新闻|大紀元|大纪元"
)
_NUM = "0-9一二三四五六七八九十〇○"
_OPEN = "（(【〔［\\["
_CLOSE = "）)】〕］\\]"
#: ``（中央社記者張茂森台北26日電）``, ``（法新社巴黎26日綜合外電）``
_BRACKETED_DATELINE = re.compile(
    rf"^[（(]\s*(?:{_AGENCIES})[^（()）]{{0,40}}?(?:[電电]|外[電电])(?:報導|报道)?\s*[）)]\s*"
)
#: ``新华社北京11月26日电（记者 王小明）``, ``中央社記者張茂森台北26日專電``
_DATELINE = re.compile(
    rf"^(?:{_AGENCIES})[^，。,；;\s（(]{{0,30}}?[{_NUM}]+日\s*(?:專|专|綜合|综合)?\s*(?:[電电]|外[電电]|消息|[讯訊])"
    rf"\s*(?:[（(][^）)]{{0,30}}[）)])?\s*[，,：:]?\s*"
)
#: ``本報訊``, ``本报讯（记者 陈大文）``, ``本報綜合報導``
_PAPER = re.compile(
    r"^(?:本[報报][訊讯]|本[報报]綜合報導|本报综合报道|綜合報導|综合报道|綜合外電|综合外电)"
    r"\s*(?:[（(][^）)]{0,30}[）)])?\s*[，,：:]?\s*"
)
#: ``【記者林小美／台北報導】``, ``〔記者王小明／台北報導〕``, ``（文／記者王小明）``
_BRACKETED_BYLINE = re.compile(
    rf"^[{_OPEN}]\s*(?:[^{_CLOSE}]{{0,8}}[，／/]\s*)?(?:記者|记者|文[，／/]|圖[，／/]|图[，／/]|撰文|特派員|特派员)"
    rf"[^{_CLOSE}]{{0,40}}[{_CLOSE}]\s*"
)
#: A paragraph that is only a byline: ``記者林小美／台北報導``, ``聯合報／記者林小美／台北即時報導``
_BYLINE_LINE = re.compile(
    r"^(?:[^，。,\s]{1,10}[，／/]\s*)?(?:記者|记者|文[，／/]|撰文[，／/：:])[^。！？]{1,30}?"
    r"(?:報導|报道|綜合報導|综合报道|即時報導|即时报道)?$"
)
#: ``記者王小明／台北報導`` run into the text after it (repair joined a two-line article)
_BYLINE_PREFIX = re.compile(
    r"^(?:[^，。\s]{1,10}[，／/]\s*)?(?:記者|记者)[^，。！？]{1,12}[，／/][^，。！？]{1,10}?"
    r"(?:即時|即时)?(?:報導|报道)\s*[，,：:]?\s*"
)
#: ``快訊／``, ``【快訊】``, ``快讯：``
_FLASH = re.compile(
    r"^(?:【\s*(?:快訊|快讯|獨家|独家|最新|突發|突发|即時|即时)\s*】|"
    r"(?:快訊|快讯|獨家|独家|最新消息|突發|突发|即時|即时)\s*[，／/：:｜|])\s*"
)
#: An editor's credit run onto the end of the last paragraph, with CNA's serial number
#: (``…濺落印度洋。（編輯：林克倫）1151126``); repair drops such credits on lines of their own.
_CREDIT_TAIL = re.compile(
    r"\s*[（(]\s*(?:責任編輯|责任编辑|編輯|编辑|譯者|译者|核稿|審校|审校)\s*[：:][^（()）]{1,20}[）)]"
    r"(?:\s*[（(]?\s*[0-9]{4,8}\s*[）)]?)?\s*$"
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
                (_FLASH, "flash"),
                (_BRACKETED_DATELINE, "dateline"),
                (_DATELINE, "dateline"),
                (_PAPER, "dateline"),
                (_BRACKETED_BYLINE, "byline"),
                (_BYLINE_PREFIX, "byline"),
            ):
                m = pattern.match(paragraph)
                if m and m.end() > 0:
                    self._note(m.group().strip(), kind)
                    paragraph = paragraph[m.end() :].lstrip("，,：: ")
                    break
            else:
                break
        if _BYLINE_LINE.match(paragraph) and not _ends_sentence(paragraph):
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
        f"(?:{p.pattern[1:]})"
        for p in (_BRACKETED_DATELINE, _DATELINE, _PAPER, _BRACKETED_BYLINE, _BYLINE_PREFIX)
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
    kept: list[str] = []
    for n, paragraph in enumerate(body):
        if n < 3 and not kept:  # furniture opens the story: the first paragraphs that have text
            paragraph = strip.front(paragraph)
        elif _BYLINE_LINE.match(paragraph) and not _ends_sentence(paragraph) and len(paragraph) <= 30:
            strip._note(paragraph, "byline")
            paragraph = ""
        if paragraph:
            kept.append(paragraph)
    if kept and (credit := _CREDIT_TAIL.search(kept[-1])):
        strip.removed.append(credit.group().strip())
        kept[-1] = kept[-1][: credit.start()]
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
