"""Feed content first (issue 19): a feed that carries the whole story is read without a page request.

Atom ``content``, RSS ``content:encoded``, JSON Feed ``content_html`` and ``content_text``
holding the full story are read as they are; the item pages (never served here) are not
requested, which the local news site (tests/fake_news.py) counts. Only teasers send for
their pages. The dry run says which.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from xml.sax.saxutils import escape

import pytest
from conftest import run_cli as run
from fake_news import NewsSite

NOW = datetime.now(timezone.utc)

STORIES = (
    (
        "立法院三讀通過基本工資法",
        [
            "立法院今天三讀通過最低工資法，明定基本工資審議委員會的組成與調整程序，明年元旦起施行。",
            "勞動部長表示，法制化之後，每年調整將參考消費者物價指數與經濟成長率，讓勞工的薪資有保障。",
            "工商團體則希望審議時能兼顧中小企業的負擔，並建議政府提供補助，協助企業因應人事成本上升。",
        ],
    ),
    (
        "台鐵新自強號明年上路",
        [
            "國營台灣鐵路公司今天宣布，新一代城際列車明年三月起投入營運，首批十二列將行駛西部幹線。",
            "台鐵表示，新列車最高時速一百四十公里，座位數比現有自強號多出一成，並全面提供充電插座。",
            "交通部長說，新車上路後將逐步汰換服役超過四十年的老舊車廂，提升旅客搭乘的舒適與安全。",
        ],
    ),
)


@pytest.fixture
def site(monkeypatch, tmp_path):
    monkeypatch.setenv("BULLETIN_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("BULLETIN_CACHE_DIR", str(tmp_path / "cache"))
    with NewsSite() as news:
        yield news


def html(paragraphs: list[str]) -> str:
    return "".join(f"<p>{p}</p>" for p in paragraphs)


def rss(site: NewsSite, *, content: bool, teaser: str = "…") -> str:
    items = "".join(
        f"<item><title>{title}</title><link>{site.url(f'/story/{n}.html')}</link>"
        f"<pubDate>{(NOW - timedelta(hours=n + 1)).strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
        f"<description>{escape(body[0][:30] + teaser)}</description>"
        + (f"<content:encoded><![CDATA[{html(body)}]]></content:encoded>" if content else "")
        + "</item>"
        for n, (title, body) in enumerate(STORIES)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>東方新聞網</title>'
        f"<link>{site.url('/')}</link><language>zh-tw</language>{items}</channel></rss>"
    )


def atom(site: NewsSite) -> str:
    entries = "".join(
        f'<entry><title>{title}</title><link href="{site.url(f"/story/{n}.html")}"/>'
        f"<id>urn:story:{n}</id><updated>{(NOW - timedelta(hours=n + 1)).isoformat()}</updated>"
        f"<summary>{escape(body[0][:30])}…</summary>"
        f'<content type="html">{escape(html(body))}</content></entry>'
        for n, (title, body) in enumerate(STORIES)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>東方新聞網</title><id>urn:feed</id><updated>{NOW.isoformat()}</updated>{entries}</feed>"
    )


def json_feed(site: NewsSite, field: str) -> str:
    items = [
        {
            "id": str(n),
            "url": site.url(f"/story/{n}.html"),
            "title": title,
            "date_published": (NOW - timedelta(hours=n + 1)).isoformat(),
            field: html(body) if field == "content_html" else "\n\n".join(body),
        }
        for n, (title, body) in enumerate(STORIES)
    ]
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "東方新聞網", "items": items})


FEEDS = {
    "RSS content:encoded": (lambda s: rss(s, content=True), "application/rss+xml"),
    "Atom content": (atom, "application/atom+xml"),
    "JSON Feed content_html": (lambda s: json_feed(s, "content_html"), "application/feed+json"),
    "JSON Feed content_text": (lambda s: json_feed(s, "content_text"), "application/feed+json"),
}


def dry_run(*args: str):
    result = run("build", "--dry-run", "--json", "--engine", "offline", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("kind", FEEDS)
def test_a_feed_with_the_whole_story_is_read_with_zero_page_requests(site, kind):
    make, content_type = FEEDS[kind]
    feed = site.add("/feed", make(site), content_type=content_type)
    plan = dry_run(feed)
    assert [r.path for r in site.requests] == ["/feed"]  # no item page was asked for
    for _, body in STORIES:
        for paragraph in body:
            assert paragraph in plan["text"]
    (source,) = plan["sources"]
    assert (source["from_feed"], source["from_pages"], source["from_summaries"]) == (2, 0, 0)
    shown = run("build", "--dry-run", "--engine", "offline", feed)
    assert f"feed {feed}: 2 read from the feed, 0 from their pages" in shown.stdout


@pytest.mark.parametrize("teaser", ["…", "...", "閱讀全文", "更多>>", " Read more"])
def test_teasers_send_for_their_pages(site, teaser):
    for n, (title, body) in enumerate(STORIES):
        site.add(
            f"/story/{n}.html", f"<html><body><h1>{title}</h1><article>{html(body)}</article></body></html>"
        )
    teasers = rss(site, content=False, teaser=teaser)
    cut = rss(site, content=True).replace("]]></content:encoded>", f"{teaser}]]></content:encoded>")
    for path, feed in (("/teasers", teasers), ("/cut", cut)):
        plan = dry_run(site.add(path, feed, content_type="application/rss+xml"))
        assert {r.path for r in site.requests if r.path.startswith("/story/")} == {
            "/story/0.html",
            "/story/1.html",
        }
        assert STORIES[1][1][2] in plan["text"]
        assert plan["sources"][0]["from_pages"] == 2
        site.requests.clear()


def test_a_story_that_ends_by_naming_a_full_text_is_not_a_teaser(site):
    body = [*STORIES[0][1][:2], "勞動部表示，相關子法將在三個月內完成訂定，並在官方網站公布法案全文。"]
    feed = rss(site, content=True).replace(html(STORIES[0][1]), html(body))
    plan = dry_run(site.add("/feed", feed, content_type="application/rss+xml"))
    assert [r.path for r in site.requests] == ["/feed"]
    assert body[2] in plan["text"]
