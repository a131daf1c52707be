"""Feeds: RSS 2.0, Atom (and RSS 1.0) through feedparser, JSON Feed by hand.

feedparser is the well-kept parser that reads what feeds really look like (wrong dates,
namespaced content, undeclared encodings). Parsed safely: feedparser turns off external
entities, but it keeps plain ``<!ENTITY>`` declarations and expat expands them (a 5-level
"billion laughs" of 1 KB became 100,000 characters), so a feed's DOCTYPE with entity
declarations is removed before parsing (news feeds have no use for one; its references
are then left as text); the bytes are bounded by the fetch's size cap. JSON Feed (1.0,
1.1) is a small JSON document, read here.

An item's text: ``content:encoded`` / Atom ``content`` / JSON ``content_html`` when that
holds the article (:func:`holds_article`); otherwise the item's page is fetched and the
summary is only what is left if the page cannot be read.
"""

from __future__ import annotations

import calendar
import json
import re
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urljoin

from bulletin.errors import SourceError
from bulletin.sources.pages import decode_html, fragment_lines, parse_time

#: Full content has at least this many sentences and characters; fewer is a teaser.
FULL_SENTENCES = 3
FULL_CHARS = 120
_SENTENCE_END = re.compile(r"[。！？!?]")
_DOCTYPE = re.compile(rb"<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>", re.DOTALL | re.IGNORECASE)
_TEASER_END = re.compile(r"(?:…|\.\.\.|……|閱讀全文|阅读全文|全文|更多|more)\W*$", re.IGNORECASE)


@dataclass(frozen=True)
class Item:
    """One feed item: what the feed says about an article."""

    title: str | None
    link: str | None
    published: datetime | None
    content: tuple[str, ...]  # paragraphs of the full content, if the feed carries any
    summary: tuple[str, ...]  # paragraphs of the summary / description


def holds_article(paragraphs: tuple[str, ...] | list[str]) -> bool:
    """Does this text look like the whole article rather than a teaser?

    A teaser is a sentence or two, or ends in "…" / 閱讀全文; an article has several
    sentences. When the item's page is fetched anyway, the longer of the two wins.
    """
    text = "".join(paragraphs)
    if not text or _TEASER_END.search(text):
        return False
    return len(_SENTENCE_END.findall(text)) >= FULL_SENTENCES and len(text) >= FULL_CHARS


def looks_like_feed(data: bytes, content_type: str | None = None) -> bool:
    """Is this a feed (XML with an rss/feed/RDF root, or a JSON Feed) rather than a page?"""
    ctype = (content_type or "").lower()
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if "json" in ctype or head.startswith(b"{"):
        return b"jsonfeed.org" in data[:4096]
    if "rss" in ctype or "atom" in ctype:
        return True
    if head.startswith((b"<!doctype html", b"<html")):
        return False
    return bool(re.search(rb"<(?:rss|feed|rdf:rdf)[\s>]", data[:4096], re.IGNORECASE))


def parse_feed(data: bytes, name: str, declared: str | None = None) -> tuple[list[Item], str | None]:
    """See :func:`_parse_feed`; item links are made absolute against the feed's URL."""
    items, warning = _parse_feed(data, name, declared)
    if name.startswith(("http://", "https://")):
        items = [replace(i, link=urljoin(name, i.link)) if i.link else i for i in items]
    return items, warning


def _parse_feed(data: bytes, name: str, declared: str | None = None) -> tuple[list[Item], str | None]:
    """The items of a feed, in the feed's order, and a warning when it was read leniently.

    :class:`SourceError` when it is not a feed, or is malformed with nothing usable in it
    (a feed cut off in its first item, HTML served as a feed). A malformed feed whose
    items still carry a link or text is read, with a warning: feedparser's lenient parser
    is made for the feeds found in the wild.
    """
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        return _json_feed(data, name, declared), None
    import xml.sax

    import feedparser

    if b"<!ENTITY" in data or b"<!entity" in data:
        data = _DOCTYPE.sub(b"", data, count=1)
        if b"<!ENTITY" in data or b"<!entity" in data:
            raise SourceError(f"{name}: malformed feed (entity declarations outside a DOCTYPE)")
    headers = {"content-type": f"application/xml; charset={declared}"} if declared else None
    parsed = feedparser.parse(data, response_headers=headers, sanitize_html=True, resolve_relative_uris=False)
    why = parsed.get("bozo_exception")
    broken = f"malformed feed ({_short(why)})" if isinstance(why, xml.sax.SAXException) else None
    items = [_item(entry) for entry in parsed.entries]
    usable = [i for i in items if i.link or i.content or i.summary]
    if not usable:
        if broken:
            raise SourceError(f"{name}: {broken}")
        if not parsed.get("version"):
            raise SourceError(f"{name}: not a feed (no RSS, Atom or JSON Feed found)")
    return usable, (f"{broken}; {len(usable)} item(s) read leniently" if broken else None)


def _short(exc: object) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:120]


def _paragraphs(values: list[Any]) -> tuple[str, ...]:
    lines: list[str] = []
    for value in values:
        if value:
            lines += fragment_lines(str(value))
    return tuple(lines)


def _item(entry: Any) -> Item:
    contents = [c.get("value") for c in entry.get("content", []) or []]
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    published = datetime.fromtimestamp(calendar.timegm(stamp), timezone.utc) if stamp else None
    summary = entry.get("summary")
    content = _paragraphs(contents)
    return Item(
        title=(entry.get("title") or "").strip() or None,
        link=entry.get("link") or None,
        published=published,
        content=content,
        summary=() if content and summary in contents else _paragraphs([summary]),
    )


def _json_feed(data: bytes, name: str, declared: str | None) -> list[Item]:
    text, _ = decode_html(data, declared)
    try:
        feed = json.loads(text)
    except ValueError as exc:
        raise SourceError(f"{name}: malformed JSON Feed ({_short(exc)})") from None
    if not isinstance(feed, dict) or "jsonfeed.org" not in str(feed.get("version", "")):
        raise SourceError(f"{name}: not a feed (JSON without a JSON Feed version)")
    items = feed.get("items")
    if not isinstance(items, list):
        raise SourceError(f"{name}: malformed JSON Feed (no items list)")
    out: list[Item] = []
    for raw in items:
        if not isinstance(raw, dict):
            continue
        content = _paragraphs([raw.get("content_html")]) or tuple(
            p.strip() for p in str(raw.get("content_text") or "").split("\n") if p.strip()
        )
        when = raw.get("date_published") or raw.get("date_modified")
        out.append(
            Item(
                title=str(raw.get("title") or "").strip() or None,
                link=str(raw.get("url") or raw.get("external_url") or "") or None,
                published=parse_time(str(when)) if when else None,
                content=content,
                summary=_paragraphs([raw.get("summary")]),
            )
        )
    return out
