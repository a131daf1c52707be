"""The podcast feed: create, append, keep N, replace by guid, corrupt feeds, and what readers see."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import feedparser
import pytest

from bulletin.errors import ConfigError, PublishError
from bulletin.publish.feed import FeedItem, format_duration, parse_duration, read_feed_items, update_feed

TZ = timezone(timedelta(hours=8))
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=TZ)
CHANNEL = {
    "channel_title": "整點新聞 & <更新>",
    "channel_link": "https://news.example/",
    "channel_description": "每小時的新聞簡報",
}
NASTY = "六邊會談 <明天> & \"北京\" '召開'"


def item(n: int, **changes: object) -> FeedItem:
    fields: dict[str, object] = {
        "title": f"第{n}期 {NASTY}",
        "description": f"簡介 {n} & <b>粗體</b>",
        "url": f"https://news.example/b/{n}.mp3",
        "length": 1000 + n,
        "guid": f"bulletin-{n}",
        "pub_date": T0 + timedelta(hours=n),
        "duration_seconds": 61.6 + n,
    }
    fields.update(changes)
    return FeedItem(**fields)  # type: ignore[arg-type]


def parse(path: Path) -> feedparser.FeedParserDict:
    d = feedparser.parse(path.read_bytes())
    assert d.bozo == 0, d.get("bozo_exception")
    assert d.version == "rss20"
    return d


def test_create(tmp_path: Path) -> None:
    feed = tmp_path / "pub" / "feed.xml"
    update_feed(feed, item(1), keep=20, **CHANNEL)
    d = parse(feed)
    assert d.feed.title == CHANNEL["channel_title"]
    assert d.feed.language == "zh"
    (entry,) = d.entries
    assert entry.title == item(1).title
    assert entry.id == "bulletin-1"
    assert entry.enclosures[0].href == "https://news.example/b/1.mp3"
    assert entry.enclosures[0].length == "1001"
    assert entry.enclosures[0].type == "audio/mpeg"
    assert entry.itunes_duration == "00:01:03"
    assert datetime(*entry.published_parsed[:6], tzinfo=timezone.utc) == item(1).pub_date
    assert not [p for p in feed.parent.iterdir() if p.name != "feed.xml"]  # no temp files


def test_append_newest_first_and_round_trip(tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    for n in (1, 2, 3):
        update_feed(feed, item(n), keep=20, **CHANNEL)
    d = parse(feed)
    assert [e.id for e in d.entries] == ["bulletin-3", "bulletin-2", "bulletin-1"]
    assert [e.title for e in d.entries] == [item(n).title for n in (3, 2, 1)]
    back = read_feed_items(feed)
    assert back[0].title == item(3).title  # <, &, quotes and Chinese survive
    assert back[0].description == item(3).description
    assert back[0].pub_date == item(3).pub_date
    assert back[0].length == 1003
    assert back[0].duration_seconds == 65


def test_the_feed_is_in_publishing_order_when_the_clock_goes_back(tmp_path: Path) -> None:
    """A bulletin published after a clock was set back (an earlier date) still goes on top,
    and is not the one dropped when the feed is full (issue 12, item 9)."""
    feed = tmp_path / "feed.xml"
    for n in (1, 3, 2):  # item 2 is published last, with an earlier date than item 3
        update_feed(feed, item(n), keep=2, **CHANNEL)
    assert [it.id for it in read_feed_items(feed)] == ["bulletin-2", "bulletin-3"]


def test_keep_last_n(tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    for n in range(7):
        kept = update_feed(feed, item(n), keep=3, **CHANNEL)
    assert [k.id for k in kept] == ["bulletin-6", "bulletin-5", "bulletin-4"]
    assert [e.id for e in parse(feed).entries] == ["bulletin-6", "bulletin-5", "bulletin-4"]
    with pytest.raises(ConfigError):
        update_feed(feed, item(9), keep=0, **CHANNEL)


def test_same_guid_replaces(tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    update_feed(feed, item(1), keep=20, **CHANNEL)
    update_feed(feed, item(2), keep=20, **CHANNEL)
    update_feed(feed, item(2, title="更正版", length=5), keep=20, **CHANNEL)
    d = parse(feed)
    assert [e.id for e in d.entries] == ["bulletin-2", "bulletin-1"]
    assert d.entries[0].title == "更正版"
    assert d.entries[0].enclosures[0].length == "5"


def test_guid_defaults_to_url_and_naive_date_is_local(tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    update_feed(feed, item(1, guid=None, pub_date=datetime(2024, 5, 1, 12, 0)), keep=20, **CHANNEL)
    (entry,) = parse(feed).entries
    assert entry.id == "https://news.example/b/1.mp3"


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not xml at all",
        b"<rss version='2.0'><channel><item></channel></rss>",  # broken
        b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'/>",  # Atom
        b"<rss version='0.91'><channel/></rss>",
        b"<rss version='2.0'></rss>",  # no channel
        b"<rss version='2.0'><channel><item><title>x</title></item></channel></rss>",  # no enclosure
    ],
)
def test_corrupt_feed_raises_and_is_left_untouched(tmp_path: Path, content: bytes) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_bytes(content)
    with pytest.raises(PublishError) as info:
        update_feed(feed, item(1), keep=20, **CHANNEL)
    assert str(feed) in str(info.value)
    assert "\n" not in str(info.value)
    assert feed.read_bytes() == content
    assert [p.name for p in tmp_path.iterdir()] == ["feed.xml"]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "00:00:00"), (59.4, "00:00:59"), (61.6, "00:01:02"), (3725, "01:02:05"), (-3, "00:00:00")],
)
def test_duration_format(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_duration_parse() -> None:
    assert parse_duration("01:02:05") == 3725
    assert parse_duration("2:05") == 125
    assert parse_duration("90") == 90
    assert parse_duration("") is None
    assert parse_duration("abc") is None
