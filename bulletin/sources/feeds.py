"""Feeds: RSS 2.0, Atom (and RSS 1.0) through feedparser, JSON Feed by hand.

feedparser is the well-kept parser that reads what feeds really look like (wrong dates,
namespaced content, undeclared encodings). Parsed safely: feedparser turns off external
entities, but it keeps plain ``<!ENTITY>`` declarations and expat expands them (a 5-level
"billion laughs" of 1 KB became 100,000 characters), so a feed is *decoded first* (BOM,
the HTTP charset, the XML declaration, UTF-16 by its first bytes, then as a page is), its
DOCTYPE with entity declarations removed from the text (news feeds have no use for one;
its references are then left as text), and the text handed to feedparser as UTF-8: the
same for every encoding (a UTF-16 feed once slipped past a check made on the bytes). What
a feed's items hold can then never be more characters than the feed itself (checked:
:func:`parse_feed` refuses a feed whose items would be). The bytes are bounded by the
fetch's size cap. JSON Feed (1.0, 1.1) is a small JSON document, read here, nested at most
:data:`MAX_JSON_DEPTH` deep; an item with a broken field is left out with a warning, not
the whole feed.

An item's text: ``content:encoded`` / Atom ``content`` / JSON ``content_html`` or
``content_text`` when that holds the whole story (:meth:`Item.whole`: long enough, not
ending in a teaser mark as written), read without fetching the page; otherwise the item's
page is fetched and the summary is only what is left if the page cannot be read. Times
written without a zone (feedparser takes an RFC 822 one for UTC) are read in the feed's
zone (:mod:`bulletin.sources.zones`: its other items' offsets, its ``<language>``, …).
"""

from __future__ import annotations

import calendar
import email.utils
import html as html_module
import json
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urljoin

from bulletin.errors import SourceError
from bulletin.sources.pages import decode_html, fragment_lines, naive_time
from bulletin.sources.policy import without_credentials
from bulletin.sources.zones import SourceZone

#: Full content has at least this many sentences and characters, or :data:`FULL_LONG`
#: characters (a long story told in few sentences); less is a teaser.
FULL_SENTENCES = 3
FULL_CHARS = 120
FULL_LONG = 400
#: Content this much longer than the item's summary is the story the summary announces.
FULL_OVER_SUMMARY = 1.5
_SENTENCE_END = re.compile(r"[。！？!?]")
_DOCTYPE = re.compile(r"<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>", re.DOTALL | re.IGNORECASE)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]{0,200}\?>")
_XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([A-Za-z0-9._-]{1,40})[\"']")
#: A JSON Feed is about four levels deep (feed, items, an item, its authors); deeper is not one.
MAX_JSON_DEPTH = 32
#: How a teaser ends: an ellipsis, or a link to the rest (閱讀全文, 更多>>, Read more); not a
#: story that ends by mentioning 全文 (…公布調查報告全文。).
_TEASER_END = re.compile(
    r"(?:…|\.{3}|⋯)[\s」”’)）\]]*$"
    r"|(?:閱讀|阅读|查看|看|讀|读|詳見|详见|點擊|点击|繼續|继续)(?:全文|更多|原文|閱讀|阅读)\W{0,4}$"
    r"|更多\s*[>»›]+\s*$|\[[^\]]{0,12}\]\s*$|(?:read more|continue reading|more)\W{0,4}$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Item:
    """One feed item: what the feed says about an article."""

    title: str | None
    link: str | None
    published: datetime | None
    content: tuple[str, ...]  # paragraphs of the full content, if the feed carries any
    summary: tuple[str, ...]  # paragraphs of the summary / description
    #: The content, as the feed wrote it, ends in a teaser mark (a closing ``…`` or a
    #: 閱讀全文 link, which cleaning takes out of the paragraphs as furniture).
    cut: bool = False

    def whole(self) -> bool:
        """Does the feed give the whole story, so that its page need not be fetched?"""
        return not self.cut and holds_article(self.content, self.summary)


def holds_article(paragraphs: tuple[str, ...] | list[str], summary: tuple[str, ...] | list[str] = ()) -> bool:
    """Is this feed content the whole story rather than a teaser?

    A teaser ends in a teaser mark (``…``, 閱讀全文, ``更多>>``, Read more) or is short: a
    sentence or two. The whole story has :data:`FULL_SENTENCES` sentences and
    :data:`FULL_CHARS` characters, or :data:`FULL_LONG` characters, or is
    :data:`FULL_OVER_SUMMARY` times as long as the item's summary. When the item's page is
    fetched anyway, the longer of the two wins.
    """
    text = "".join(paragraphs)
    if not text or _TEASER_END.search(text):
        return False
    if len(text) >= FULL_LONG:
        return True
    if len(_SENTENCE_END.findall(text)) >= FULL_SENTENCES and len(text) >= FULL_CHARS:
        return True
    announced = "".join(summary)
    return bool(announced) and len(text) >= FULL_OVER_SUMMARY * len(announced) and len(text) >= FULL_CHARS


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


def parse_feed(
    data: bytes, name: str, declared: str | None = None, zone: SourceZone | None = None
) -> tuple[list[Item], str | None]:
    """See :func:`_parse_feed`; item links are made absolute against the feed's URL, and
    times without an offset are read in the feed's zone (``zone``: what is known of it
    before; :mod:`bulletin.sources.zones`)."""
    items, warning, hints = _parse_feed(data, name, declared)
    url = name if name.startswith(("http://", "https://")) else None
    if url:
        items = [replace(i, link=urljoin(url, i.link)) if i.link else i for i in items]
    items = [replace(i, link=without_credentials(i.link)) if i.link and "@" in i.link else i for i in items]
    if any(i.published is not None and i.published.tzinfo is None for i in items):
        choice = (zone or SourceZone()).pick(offsets=hints.offsets, language=hints.language, url=url)
        items = [
            replace(i, published=i.published.replace(tzinfo=choice.zone))
            if i.published is not None and i.published.tzinfo is None
            else i
            for i in items
        ]
        warning = "; ".join(w for w in (warning, choice.warning(name)) if w) or None
    return items, warning


@dataclass(frozen=True)
class _Hints:
    """What a feed says about its zone: its language, and the offsets its times carry."""

    language: str | None = None
    offsets: tuple[timedelta, ...] = ()


def _parse_feed(data: bytes, name: str, declared: str | None = None) -> tuple[list[Item], str | None, _Hints]:
    """The items of a feed, in the feed's order, a warning when it was read leniently, and
    what it says about its time zone.

    :class:`SourceError` when it is not a feed, or is malformed with nothing usable in it
    (a feed cut off in its first item, HTML served as a feed). A malformed feed whose
    items still carry a link or text is read, with a warning: feedparser's lenient parser
    is made for the feeds found in the wild.
    """
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        return _json_feed(data, name, declared)
    import xml.sax

    import feedparser

    text = _xml_text(data, declared)
    if "<!ENTITY" in text.upper():
        text = _DOCTYPE.sub("", text, count=1)
        if "<!ENTITY" in text.upper():
            raise SourceError(f"{name}: malformed feed (entity declarations outside a DOCTYPE)")
    document = '<?xml version="1.0" encoding="utf-8"?>' + _XML_DECLARATION.sub("", text, count=1)
    parsed = feedparser.parse(
        document.encode("utf-8", "surrogatepass"),
        response_headers={"content-type": "application/xml; charset=utf-8"},
        sanitize_html=True,
        resolve_relative_uris=False,
    )
    why = parsed.get("bozo_exception")
    broken = f"malformed feed ({_short(why)})" if isinstance(why, xml.sax.SAXException) else None
    found = [_item(entry) for entry in parsed.entries]
    items = [item for item, _ in found]
    usable = [i for i in items if i.link or i.content or i.summary]
    if not usable:
        if broken:
            raise SourceError(f"{name}: {broken}")
        if not parsed.get("version"):
            raise SourceError(f"{name}: not a feed (no RSS, Atom or JSON Feed found)")
    _check_size(usable, len(text), name)
    warnings = [f"{broken}; {len(usable)} item(s) read leniently"] if broken else []
    undated = sum(
        1
        for entry, item in zip(parsed.entries, items, strict=True)
        if (dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed"))
        and item.published is None
    )
    if undated:
        warnings.append(f"{undated} item(s) dated where the clock cannot go (kept, undated)")
    feed = parsed.get("feed", {})
    own = _entry_time(dict.get(feed, "updated") or dict.get(feed, "published"), None)[1]
    offsets = tuple(o for o in [own, *(offset for _, offset in found)] if o is not None)
    hints = _Hints(feed.get("language") or None, offsets)
    return usable, "; ".join(warnings) or None, hints


def _ends_cut(values: list[Any]) -> bool:
    """Does the last of these HTML fragments end in a teaser mark, markup aside?"""
    last = next((str(v) for v in reversed(values) if v), "")
    plain = re.sub(r"<[^>]*>", "", last)
    return bool(plain.strip()) and bool(_TEASER_END.search(html_module.unescape(plain).strip()))


def _xml_text(data: bytes, declared: str | None) -> str:
    """A feed's bytes as text: the HTTP charset, else the XML declaration's encoding, else
    UTF-16 told by its first bytes, else as a page is decoded (BOM, UTF-8, detection)."""
    if not declared:
        if found := _XML_ENCODING.match(data):
            declared = found.group(1).decode("ascii")
        elif data.startswith(b"<\x00?\x00"):
            declared = "utf-16-le"
        elif data.startswith(b"\x00<\x00?"):
            declared = "utf-16-be"
    return decode_html(data, declared)[0]


def _check_size(items: list[Item], budget: int, name: str) -> None:
    """Refuse items that hold more characters than the feed they came from (``budget``).

    Text taken from markup with no entity declarations is never longer than the markup;
    more means something expanded it, and such a feed is not read at all.
    """
    total = sum(len(i.title or "") + sum(len(p) for p in (i.content or i.summary)) for i in items)
    if total > budget:
        raise SourceError(
            f"{name}: its items hold {total:,} characters, more than the feed's own {budget:,}; not read"
        )


def _short(exc: object) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:120]


def _paragraphs(values: list[Any]) -> tuple[str, ...]:
    lines: list[str] = []
    for value in values:
        if value:
            lines += fragment_lines(str(value))
    return tuple(lines)


def _item(entry: Any) -> tuple[Item, timedelta | None]:
    """One entry as an :class:`Item`, and the offset its time was written with (if any)."""
    contents = [c.get("value") for c in entry.get("content", []) or []]
    # dict.get: feedparser's own get maps a missing "updated" to "published", with a warning
    raw = dict.get(entry, "published") or dict.get(entry, "updated")
    stamp = dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")
    published, offset = _entry_time(raw, stamp)
    summary = entry.get("summary")
    content = _paragraphs(contents)
    item = Item(
        title=(entry.get("title") or "").strip() or None,
        link=entry.get("link") or None,
        published=published,
        content=content,
        summary=() if content and summary in contents else _paragraphs([summary]),
        cut=_ends_cut(contents),
    )
    return item, offset


#: A time written with its zone: an offset, Z, or a named zone (RFC 822's GMT, EST, …).
_ZONE_WRITTEN = re.compile(r"(?:[+-]\d{2}:?\d{2}|\bZ|\b(?:GMT|UTC|UT|[ECMP][SD]T))\s*$", re.IGNORECASE)


def _entry_time(raw: str | None, stamp: Any) -> tuple[datetime | None, timedelta | None]:
    """An entry's time as written (naive when written without a zone) and the offset it was
    written with, from the raw string (ISO 8601, RFC 822), else feedparser's UTC reading."""
    raw = (raw or "").strip()
    if re.match(r"\d{4}[-/]\d{1,2}[-/]\d{1,2}", raw):
        when = naive_time(raw)
        if when is not None:
            return when, when.utcoffset()
    written = email.utils.parsedate_tz(raw) if raw else None
    try:
        if written is not None:
            when = datetime(*written[:6])
            if not _ZONE_WRITTEN.search(raw):  # feedparser would take it for UTC
                _ = (when - timedelta(days=1), when + timedelta(days=1))  # in any zone, or none
                return when, None
            offset = timedelta(seconds=written[9] or 0)
            when = when.replace(tzinfo=timezone(offset))
            when.astimezone(timezone.utc)  # a time the clock can hold, or none (year 1 east of UTC)
            return when, offset
        if stamp:
            return datetime.fromtimestamp(calendar.timegm(stamp), timezone.utc), None
    except (ValueError, OverflowError, OSError):  # year 0 or 10000: no date
        pass
    return None, None


def _json_feed(data: bytes, name: str, declared: str | None) -> tuple[list[Item], str | None, _Hints]:
    text, _ = decode_html(data, declared)
    try:
        feed = json.loads(text)
    except RecursionError:  # deeper than Python's recursion limit (about 1,000)
        raise SourceError(f"{name}: malformed JSON Feed (nested more than {MAX_JSON_DEPTH} deep)") from None
    except ValueError as exc:
        raise SourceError(f"{name}: malformed JSON Feed ({_short(exc)})") from None
    if _too_deep(feed, MAX_JSON_DEPTH):
        raise SourceError(f"{name}: malformed JSON Feed (nested more than {MAX_JSON_DEPTH} deep)")
    if not isinstance(feed, dict) or "jsonfeed.org" not in str(feed.get("version", "")):
        raise SourceError(f"{name}: not a feed (JSON without a JSON Feed version)")
    items = feed.get("items")
    if not isinstance(items, list):
        raise SourceError(f"{name}: malformed JSON Feed (no items list)")
    out: list[Item] = []
    offsets: list[timedelta] = []
    problems: list[str] = []
    for n, raw in enumerate(items, 1):
        if not isinstance(raw, dict):
            problems.append(f"item {n} is not an object")
            continue
        written = [_field(raw, "content_html") or _field(raw, "content_text")]
        content = _paragraphs([_field(raw, "content_html")]) or tuple(
            p.strip() for p in _field(raw, "content_text").split("\n") if p.strip()
        )
        when = _field(raw, "date_published") or _field(raw, "date_modified")
        published = naive_time(when) if when else None
        if when and published is None:
            problems.append(f"item {n}'s date {when[:40]!r} cannot be read (the item is kept, undated)")
        if published is not None and published.tzinfo is not None:
            offsets.append(published.utcoffset() or timedelta(0))
        out.append(
            Item(
                title=_field(raw, "title").strip() or None,
                link=_field(raw, "url") or _field(raw, "external_url") or None,
                published=published,
                content=content,
                summary=_paragraphs([_field(raw, "summary")]),
                cut=_ends_cut(written),
            )
        )
    _check_size(out, len(text), name)
    shown = "; ".join(problems[:3]) + (f"; and {len(problems) - 3} more" if len(problems) > 3 else "")
    language = feed.get("language")
    return out, shown or None, _Hints(language if isinstance(language, str) else None, tuple(offsets))


def _field(item: dict[str, Any], key: str) -> str:
    """A JSON Feed item's text field; anything but a string (a number, a list) is no text."""
    value = item.get(key)
    return value if isinstance(value, str) else ""


def _too_deep(value: object, limit: int) -> bool:
    """Does a parsed JSON value nest more than ``limit`` deep (walked without recursion)?"""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
