"""A podcast RSS 2.0 feed of published bulletins, updated one item at a time.

feedgen writes correct RSS (escaping, dates, the iTunes namespace) but cannot read a
feed back, so an update parses the existing file with the standard library, rebuilds
the whole feed with feedgen from those items plus the new one, and replaces the file
atomically. The feed is owned by bulletin: channel fields come from the arguments of
each call, and per-item elements other than the ones below are not carried over.

The caller should hold :func:`bulletin.publish.lock.output_lock` on the feed path around
:func:`update_feed`, since it is a read-modify-write.

Parsing uses :mod:`xml.etree.ElementTree` rather than defusedxml: the file is one we
wrote, expat ≥ 2.4.1 (bundled with every supported Python) caps entity expansion, and
ElementTree never fetches external entities.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from feedgen.feed import FeedGenerator

from bulletin import __version__
from bulletin.errors import ConfigError, PublishError
from bulletin.files import read_regular, write_bytes_atomic

_ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
#: A feed of ``--feed-keep`` items is kilobytes; a bigger file is not one we wrote.
MAX_FEED_BYTES = 64 << 20


@dataclass(frozen=True, kw_only=True)
class FeedItem:
    """One episode. *pub_date* should be timezone-aware; a naive one is taken as local time."""

    title: str
    description: str
    url: str
    length: int  # bytes of the audio file (RSS enclosure length)
    guid: str | None = None  # defaults to url; an item with the same guid is replaced
    pub_date: datetime
    duration_seconds: float | None = None
    mime: str = "audio/mpeg"

    @property
    def id(self) -> str:
        """The guid actually written (falls back to the URL, which is unique per bulletin)."""
        return self.guid or self.url

    def aware_pub_date(self) -> datetime:
        """*pub_date* with a timezone, as RSS needs one."""
        return self.pub_date if self.pub_date.tzinfo is not None else self.pub_date.astimezone()


def format_duration(seconds: float) -> str:
    """``itunes:duration`` as HH:MM:SS (rounded to whole seconds)."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"


def parse_duration(text: str | None) -> float | None:
    """Read ``itunes:duration`` back: ``HH:MM:SS``, ``MM:SS`` or plain seconds; None if odd."""
    if not text:
        return None
    try:
        parts = [float(p) for p in text.strip().split(":")]
    except ValueError:
        return None
    if not 1 <= len(parts) <= 3:
        return None
    total = 0.0
    for part in parts:
        total = total * 60 + part
    return total


def read_feed_items(feed_path: Path) -> list[FeedItem]:
    """The items of an RSS 2.0 feed file, in file order.

    Raises :class:`PublishError` with one line when the file cannot be read, is not XML,
    or is not an RSS 2.0 ``<channel>``.
    """
    try:  # a FIFO or device in the feed's place would hang or fill the memory
        raw = read_regular(feed_path, MAX_FEED_BYTES)
    except OSError as exc:
        raise PublishError(f"cannot read feed {feed_path}: {exc.strerror or exc}") from exc
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise PublishError(
            f"feed {feed_path} is not valid XML ({exc}); fix or remove it, it was left untouched"
        ) from None
    channel = root.find("channel")
    if root.tag != "rss" or root.get("version") != "2.0" or channel is None:
        raise PublishError(
            f"feed {feed_path} is not an RSS 2.0 feed (root <{root.tag}>); "
            "fix or remove it, it was left untouched"
        )
    items: list[FeedItem] = []
    for position, element in enumerate(channel.findall("item"), 1):
        try:
            items.append(_item_from_xml(element))
        except (ValueError, TypeError) as exc:
            raise PublishError(
                f"feed {feed_path}: item {position} is unreadable ({exc}); "
                "fix or remove it, it was left untouched"
            ) from None
    return items


def _item_from_xml(element: ET.Element) -> FeedItem:
    enclosure = element.find("enclosure")
    if enclosure is None or not enclosure.get("url"):
        raise ValueError("no <enclosure url=…>")
    pub_text = element.findtext("pubDate")
    if not pub_text:
        raise ValueError("no <pubDate>")
    pub_date = parsedate_to_datetime(pub_text.strip())
    title, description = element.findtext("title") or "", element.findtext("description") or ""
    if not title.strip() and not description.strip():
        raise ValueError("neither <title> nor <description>")
    length_text = enclosure.get("length") or "0"
    return FeedItem(
        title=title,
        description=description,
        url=enclosure.get("url", ""),
        length=int(length_text) if length_text.isdigit() else 0,
        mime=enclosure.get("type") or "audio/mpeg",
        guid=(element.findtext("guid") or "").strip() or None,
        pub_date=pub_date,
        duration_seconds=parse_duration(element.findtext(f"{{{_ITUNES_NS}}}duration")),
    )


def update_feed(feed_path: Path, item: FeedItem, **options: Any) -> list[FeedItem]:
    """Add *item* to the feed at *feed_path* (creating it) and write it atomically.

    Takes the options of :func:`updated_feed` (``keep``, the channel's fields); for a
    feed published on its own. Returns the items now in the feed.
    """
    data, items = updated_feed(feed_path, item, **options)
    write_bytes_atomic(Path(feed_path), data)
    return items


def updated_feed(
    feed_path: Path,
    item: FeedItem,
    *,
    keep: int,
    channel_title: str,
    channel_link: str,
    channel_description: str,
    language: str = "zh",
    channel_image: str | None = None,
) -> tuple[bytes, list[FeedItem]]:
    """The feed at *feed_path* (or a new one) with *item* added first: its bytes and its items.

    Nothing is written, so a caller can publish the feed together with the MP3 it names.
    An existing item with the same guid or URL is replaced. The new item goes first and
    the others keep their order: the feed is in the order bulletins were published, not
    sorted by date, so a clock set back (a later bulletin with an earlier date) still puts
    the newest bulletin on top instead of dropping it past *keep*. A corrupt feed raises
    :class:`PublishError`; text feedgen cannot write raises it too.
    """
    if keep < 1:
        raise ConfigError(f"feed must keep at least 1 item, not {keep}")
    feed_path = Path(feed_path)
    existing = read_feed_items(feed_path) if feed_path.exists() else []
    # Same guid, or same URL (a bulletin republished under a fixed name): the old item goes.
    items = [item, *(old for old in existing if old.id != item.id and old.url != item.url)][:keep]
    data = _render(
        items,
        title=channel_title,
        link=channel_link,
        description=channel_description,
        language=language,
        image=channel_image,
    )
    return data, items


def _render(
    items: list[FeedItem],
    *,
    title: str,
    link: str,
    description: str,
    language: str,
    image: str | None,
) -> bytes:
    """The feed as bytes; feedgen validation errors become one-line PublishErrors."""
    try:
        fg = FeedGenerator()
        fg.load_extension("podcast")
        fg.title(title)
        fg.link(href=link, rel="alternate")
        fg.description(description)
        fg.language(language)
        fg.generator(f"bulletin {__version__}")
        fg.podcast.itunes_explicit("no")
        if image:
            fg.image(url=image, title=title, link=link)
            fg.podcast.itunes_image(image)
        if items:
            fg.lastBuildDate(max(it.aware_pub_date() for it in items))
        for it in items:  # newest first, as they should appear
            fe = fg.add_entry(order="append")
            fe.title(it.title)
            fe.description(it.description or it.title)
            fe.guid(it.id, permalink=False)
            fe.enclosure(it.url, str(it.length), it.mime)
            fe.pubDate(it.aware_pub_date())
            if it.duration_seconds is not None:
                fe.podcast.itunes_duration(format_duration(it.duration_seconds))
        return fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)
    except ValueError as exc:
        raise PublishError(f"cannot build feed: {exc}") from None
