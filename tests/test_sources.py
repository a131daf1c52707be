"""Sources through the CLI against a local news site (tests/fake_news.py): feeds, pages, faults.

Every network test talks to a real HTTP server on 127.0.0.1 that the test starts: feeds
with teasers (text on the item pages) and with full content, pages wrapped in furniture,
Big5 and GB2312 pages, a 404, a 500, a malformed feed, a stalled server, an endless
answer, redirects, conditional requests, ``--since``, and the cron exit codes.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from conftest import ROOT
from conftest import run_cli as run
from fake_news import NewsSite

PAGES = ROOT / "tests" / "data" / "pages"
NOW = datetime.now(timezone.utc)

FULL_STORY = (
    "<p>新华社北京11月26日电 中国人民银行26日宣布，下调金融机构存款准备金率0.25个百分点。</p>"
    "<p>央行有关负责人表示，此次降准将释放长期资金约5000亿元，有助于保持流动性合理充裕。</p>"
    "<p>分析人士认为，降准体现了稳健货币政策的灵活适度，将有力支持实体经济发展。</p>"
)
FURNITURE = ["分享到", "延伸閱讀", "編輯：", "版權所有", "相关新闻", "网友评论", "看更多", "贊助廣告", "摄"]


@pytest.fixture
def site(monkeypatch, tmp_path):
    monkeypatch.setenv("BULLETIN_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("BULLETIN_CACHE_DIR", str(tmp_path / "cache"))
    with NewsSite() as news:
        yield news


def rss(items: list[dict[str, str]]) -> str:
    body = "".join(
        "<item>"
        f"<title>{escape(i['title'])}</title><link>{escape(i['link'])}</link>"
        f"<pubDate>{i['date']}</pubDate><description>{escape(i.get('summary', ''))}</description>"
        + (f"<content:encoded><![CDATA[{i['content']}]]></content:encoded>" if i.get("content") else "")
        + "</item>"
        for i in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>新聞</title><link>http://127.0.0.1/</link>{body}</channel></rss>"
    )


def atom(entries: list[dict[str, str]]) -> str:
    body = "".join(
        f'<entry><title>{escape(e["title"])}</title><link href="{escape(e["link"])}"/>'
        f"<id>{escape(e['link'])}</id><updated>{e['date']}</updated>"
        f'<content type="html">{escape(e["content"])}</content></entry>'
        for e in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>通訊社</title><id>urn:x</id><updated>{NOW.isoformat()}</updated>{body}</feed>"
    )


def ago(hours: float, *, rfc822: bool = True) -> str:
    when = NOW - timedelta(hours=hours)
    return format_datetime(when) if rfc822 else when.isoformat()


def dry_run(*args: str):
    result = run("build", "--dry-run", "--json", "--engine", "offline", *args)
    plan = json.loads(result.stdout) if result.exit_code == 0 else None
    return result, plan


def serve_pages(site: NewsSite) -> dict[str, str]:
    """The four furnished pages (UTF-8, GB2312, Big5), with no charset in the HTTP header."""
    return {
        p.stem: site.add(f"/news/{p.name}", p.read_bytes(), content_type="text/html")
        for p in sorted(PAGES.glob("*.html"))
    }


# --------------------------------------------------------------------------- feeds and pages


def test_rss_teasers_are_read_from_their_pages_and_full_atom_content_is_used(site):
    pages = serve_pages(site)
    teasers = site.add(
        "/rss.xml",
        rss(
            [
                {
                    "title": "日本石川縣規模6.4地震 暫無海嘯威脅",
                    "link": pages["cna-quake"],
                    "date": ago(1),
                    "summary": "日本石川縣能登半島今天上午發生規模6.4地震…",
                },
                {
                    "title": "快訊／北市信義區大樓火警",
                    "link": pages["udn-flash"],
                    "date": ago(2),
                    "summary": "台北市信義區一棟商業大樓發生火警。",
                },
            ]
        ),
        content_type="application/rss+xml",
    )
    full_link = site.url("/atom/rrr.html")  # never served: the feed holds the whole article
    full = site.add(
        "/atom.xml",
        atom(
            [
                {
                    "title": "央行宣布降准0.25个百分点",
                    "link": full_link,
                    "date": ago(1, rfc822=False),
                    "content": FULL_STORY,
                }
            ]
        ),
        content_type="application/atom+xml",
    )
    result, plan = dry_run(teasers, full)
    assert result.exit_code == 0, result.output
    text = plan["text"]
    assert "輪島市測得最大震度6弱" in text and "疏散民眾約300人" in text  # from the pages
    assert "释放长期资金约5000亿元" in text  # from the Atom content
    for piece in [*FURNITURE, "中央社記者", "新华社北京", "快訊", "記者林小美"]:
        assert piece not in text, piece
    assert not site.hits("/atom/rrr.html")  # full content: its page was not fetched
    assert [s["kind"] for s in plan["sources"]] == ["feed", "feed"]
    assert [s["items"] for s in plan["sources"]] == [2, 1]
    first = plan["articles"][0]
    assert first["headline"].startswith("日本石川縣規模6.4地震")
    assert first["dateline"] == "（中央社記者張茂森東京26日電）"
    assert first["url"] == pages["cna-quake"] and first["source"] == teasers
    assert first["published"]
    assert not plan["chunks"][0]["text"].startswith("日本石川縣規模6.4地震")  # the headline is not read
    agent = site.hits("/rss.xml")[0].headers["User-Agent"]
    assert agent.startswith("bulletin/") and "Mandarin" in agent


def test_pages_in_big5_and_gb2312_are_decoded_from_meta_or_header(site):
    big5 = (PAGES / "udn-flash.html").read_bytes()
    from_header = site.add(
        "/h.html", big5.replace(b'charset="big5"', b""), content_type="text/html; charset=big5"
    )
    from_meta = site.add("/gb.html", (PAGES / "xinhua-cpi.html").read_bytes(), content_type="text/html")
    undeclared = site.add("/u.html", big5.replace(b'<meta charset="big5">', b""), content_type="text/html")
    result = run("clean", from_header, from_meta, undeclared, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert "消防局獲報後出動消防車40輛" in data["text"]
    assert "国家统计局26日发布数据显示" in data["text"]
    assert data["articles"][1]["dateline"].startswith("新华社北京11月26日电")
    assert "\ufffd" not in data["text"]
    encodings = [a["encoding"] for a in data["inputs"]]
    assert encodings[:2] == ["big5hkscs", "gb18030"]  # declared: read as the superset
    assert encodings[2] in ("big5", "cp950", "big5hkscs")  # undeclared: bulletin.text.detect decides


def test_json_feed_and_redirects(site):
    target = site.add(
        "/feed.json",
        json.dumps(
            {
                "version": "https://jsonfeed.org/version/1.1",
                "title": "新聞",
                "items": [
                    {
                        "id": "1",
                        "url": site.url("/a"),
                        "title": "降准",
                        "content_html": FULL_STORY,
                        "date_published": ago(1, rfc822=False),
                    }
                ],
            }
        ),
        content_type="application/feed+json",
    )
    moved = site.add("/old-feed", fault="redirect", target="/feed.json")
    result, plan = dry_run(moved)
    assert result.exit_code == 0, result.output
    assert "下调金融机构存款准备金率" in plan["text"]
    assert plan["sources"][0]["items"] == 1 and plan["sources"][0]["status"] == "ok"
    assert site.hits("/feed.json") and target


# --------------------------------------------------------------------------- failing sources


def test_failing_sources_are_reported_and_the_bulletin_made_from_the_rest(site):
    good = site.add(
        "/atom.xml",
        atom(
            [{"title": "降准", "link": site.url("/x"), "date": ago(1, rfc822=False), "content": FULL_STORY}]
        ),
        content_type="application/atom+xml",
    )
    missing = site.url("/gone.xml")
    broken = site.add(
        "/broken.xml", '<?xml version="1.0"?><rss><channel><title>壞', content_type="application/xml"
    )
    cut = site.add("/cut.xml", "<rss><channel><item><title>壞", content_type="application/rss+xml")
    image = site.add("/logo.png", b"\x89PNG\r\n\x1a\n" + bytes(64), content_type="image/png")
    error = site.add("/500.xml", "oops", status=500)
    result, plan = dry_run(good, missing, broken, cut, image, error)
    assert result.exit_code == 0, result.output
    by = {s["source"]: s for s in plan["sources"]}
    assert by[good]["status"] == "ok" and by[good]["items"] == 1
    assert "HTTP 404" in by[missing]["error"]
    assert "malformed feed" in by[broken]["error"]
    assert "malformed feed" in by[cut]["error"]  # cut off in its first item: nothing usable
    assert "not a feed" in by[image]["error"]
    assert "HTTP 500" in by[error]["error"]
    assert len(site.hits("/500.xml")) == 3  # retried twice with backoff
    for name in (missing, broken, cut, image, error):
        assert by[name]["status"] == "failed" and by[name]["items"] == 0
        assert sum(name in line for line in result.stderr.splitlines()) == 1  # one warning each


def test_a_stalled_server_is_given_up_within_its_timeout(site):
    stalled = site.add("/slow.xml", fault="stall")
    good = site.add(
        "/atom.xml",
        atom(
            [{"title": "降准", "link": site.url("/x"), "date": ago(1, rfc822=False), "content": FULL_STORY}]
        ),
        content_type="application/atom+xml",
    )
    started = time.monotonic()
    result, plan = dry_run(stalled, good, "--source-timeout", "1")
    assert time.monotonic() - started < 4
    assert result.exit_code == 0, result.output
    assert plan["sources"][0]["status"] == "failed" and "timed out" in plan["sources"][0]["error"]


def test_a_huge_answer_is_refused_not_read_to_the_end(site):
    huge = site.add("/huge.html", fault="endless")
    result = run("clean", huge, "--json")
    assert result.exit_code == 75, result.output
    assert "8 MiB limit" in result.stderr and len(result.stderr.strip().splitlines()) == 2


def test_a_5xx_is_retried(site):
    flaky = site.add(
        "/atom.xml",
        atom(
            [{"title": "降准", "link": site.url("/x"), "date": ago(1, rfc822=False), "content": FULL_STORY}]
        ),
        content_type="application/atom+xml",
        fail_times=1,
    )
    result, _ = dry_run(flaky)
    assert result.exit_code == 0, result.output
    assert [r.status for r in site.hits("/atom.xml")] == [503, 200]


def test_conditional_requests_get_304_on_the_second_run(site):
    feed = site.add(
        "/atom.xml",
        atom(
            [{"title": "降准", "link": site.url("/x"), "date": ago(1, rfc822=False), "content": FULL_STORY}]
        ),
        content_type="application/atom+xml",
        etag=True,
    )
    first, plan1 = dry_run(feed)
    second, plan2 = dry_run(feed)
    assert first.exit_code == second.exit_code == 0, second.output
    hits = site.hits("/atom.xml")
    assert [h.status for h in hits] == [200, 304]
    assert "If-None-Match" not in hits[0].headers and hits[1].headers["If-None-Match"]
    assert plan2["text"] == plan1["text"]  # read from what was kept
    assert plan2["sources"][0]["status"] == "not-modified"


# --------------------------------------------------------------------------- --since and cron


def test_since_skips_older_items_and_max_stories_caps(site):
    feed = site.add(
        "/rss.xml",
        rss(
            [
                {"title": "新", "link": site.url("/1"), "date": ago(1), "content": FULL_STORY},
                {
                    "title": "舊",
                    "link": site.url("/2"),
                    "date": ago(30),
                    "content": FULL_STORY.replace("中国人民银行", "国家统计局"),
                },
            ]
        ),
        content_type="application/rss+xml",
    )
    result, plan = dry_run(feed, "--since", "12h")
    assert result.exit_code == 0, result.output
    assert plan["sources"][0]["items"] == 1 and plan["sources"][0]["skipped"] == 1
    assert "国家统计局" not in plan["text"]
    result, plan = dry_run(feed, str(ROOT / "examples" / "six-party-talks.txt"), "--max-stories", "1")
    assert result.exit_code == 0
    assert "六邊會談" not in plan["text"]


def test_bad_since_is_a_one_line_usage_error(site, sample):
    result = run("build", str(sample), "--dry-run", "--since", "yesterday-ish")
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "--since" in result.stderr


def test_no_new_stories_exits_0_and_keeps_the_bulletin_every_source_failed_exits_75(edge, site, tmp_path):
    feed = site.add(
        "/atom.xml",
        atom(
            [{"title": "降准", "link": site.url("/x"), "date": ago(3, rfc822=False), "content": FULL_STORY}]
        ),
        content_type="application/atom+xml",
    )
    out, report = tmp_path / "news.mp3", tmp_path / "report.json"
    made = run("build", feed, "--since", "12h", "-o", str(out), "--engine", "edge", "--report", str(report))
    assert made.exit_code == 0, made.output
    before = out.read_bytes()
    assert json.loads(report.read_text())["sources"][0]["items"] == 1

    quiet = run("build", feed, "--since", "1h", "-o", str(out), "--engine", "edge", "--report", str(report))
    assert quiet.exit_code == 0, quiet.output
    assert "no new stories" in quiet.stderr
    assert out.read_bytes() == before
    data = json.loads(report.read_text())
    assert data["no_new_stories"] is True and data["sources"][0]["skipped"] == 1

    gone = run("build", site.url("/a.xml"), site.url("/b.xml"), "-o", str(out), "--report", str(report))
    assert gone.exit_code == 75, gone.output
    assert gone.stderr.strip().splitlines()[-1].startswith("bulletin: error: every source failed")
    assert out.read_bytes() == before
    data = json.loads(report.read_text())
    assert data["exit_status"] == 75 and [s["status"] for s in data["sources"]] == ["failed", "failed"]


# --------------------------------------------------------------------------- local sources


def test_a_folder_is_read_oldest_first_and_a_local_page_without_furniture(tmp_path, monkeypatch):
    monkeypatch.setenv("BULLETIN_STATE_DIR", str(tmp_path / "state"))
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "b.txt").write_text("立法院今天三讀通過修正條文。明年元旦上路。\n", encoding="utf-8")
    (folder / "a.html").write_bytes((PAGES / "portal-rate.html").read_bytes())
    (folder / "notes.md").write_text("# not news", encoding="utf-8")
    import os

    os.utime(folder / "a.html", (time.time() - 100, time.time() - 100))
    result = run("clean", str(folder), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [Path(a["path"]).name for a in data["articles"]] == ["a.html", "b.txt"]
    assert data["articles"][0]["dateline"] == "本報訊（記者陳大文）"
    for piece in ("責任編輯", "網友留言", "你可能也想看", "分享至", "排行榜"):
        assert piece not in data["text"]
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run("clean", str(empty))  # a newsroom folder with nothing in it this hour
    assert result.exit_code == 0 and "no new stories" in result.stderr


def test_items_with_nothing_to_say_are_skipped_and_outputs_stay_out_of_article_folders(tmp_path):
    """One English-only or furniture-only file in a folder is a warning, not a failed run;
    named on the command line it is still a usage error. An output inside a folder that is
    read as articles is refused before any work (it would overwrite an article, or be read
    back as one next time)."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("台北今天下雨。\n", encoding="utf-8")
    (folder / "z.txt").write_text("Hello world\n", encoding="utf-8")
    (folder / "w.txt").write_text("颱風凱米襲台\n（中央社記者張茂森台北26日電）\n", encoding="utf-8")
    result = run("build", str(folder), "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["text"] == "台北今天下雨。"
    assert len(plan["sources"][0]["warnings"]) == 2 and result.stderr.count("warning: skipped") == 2
    assert run("clean", str(folder / "z.txt")).exit_code == 2
    before = (folder / "a.txt").read_bytes()
    for option, name in (("-o", "a.txt"), ("--report", "r.json"), ("--feed", "feed.xml")):
        args = ["build", str(folder), "-o", str(tmp_path / "x.mp3"), option, str(folder / name)]
        result = run(*args, "--base-url", "http://x/")
        assert result.exit_code == 2 and "read as articles" in result.stderr
    assert (folder / "a.txt").read_bytes() == before and not (folder / "r.json").exists()


def test_feeds_are_parsed_safely():
    """No external entity is read, no entity expansion blows up."""
    from bulletin.errors import SourceError
    from bulletin.sources.feeds import parse_feed

    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<rss version="2.0"><channel><title>t</title><item><title>&x;</title><link>http://h/1</link>'
        b"<description>&x;</description></item></channel></rss>"
    )
    laughs = b"".join(
        [b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">']
        + [f'<!ENTITY {c} "{("&" + p + ";") * 10}">'.encode() for p, c in zip("abcd", "bcde", strict=True)]
        + [b']><rss version="2.0"><channel><title>t</title><item><title>&e;</title></item></channel></rss>']
    )
    for feed in (xxe, laughs):
        try:
            items, _ = parse_feed(feed, "feed.xml")
        except SourceError as exc:  # the undeclared entity left behind makes it malformed
            assert "malformed feed" in str(exc)
            continue
        assert all("root:" not in "".join(i.summary) + (i.title or "") for i in items)
        assert all(len(i.title or "") < 1000 for i in items)


def test_since_takes_durations_dates_and_times():
    from bulletin.errors import ConfigError
    from bulletin.sources.gather import parse_since

    now = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
    assert parse_since("12h", now) == now - timedelta(hours=12)
    assert parse_since("1h30m", now) == now - timedelta(minutes=90)
    assert parse_since("2d", now) == now - timedelta(days=2)
    assert parse_since("2026-11-26T08:00+08:00", now) == datetime(2026, 11, 26, 0, 0, tzinfo=timezone.utc)
    assert parse_since("2026-11-26", now).hour == 0  # a date alone: its start, local time
    for bad in ("yesterday", "12", "h12", "2026-13-40"):
        with pytest.raises(ConfigError):
            parse_since(bad, now)


def test_a_malformed_feed_with_usable_items_is_read_with_a_warning():
    from bulletin.sources.feeds import parse_feed

    feed = rss([{"title": "降准", "link": "http://h/1", "date": ago(1), "content": FULL_STORY}])
    items, warning = parse_feed(feed.replace("</channel></rss>", "<item><title>半").encode(), "f.xml")
    assert [i.link for i in items] == ["http://h/1"]
    assert warning and "malformed feed" in warning


# --------------------------------------------------------------------------- the done-when, whole

QUAKE_XINHUA = (
    "<p>新华社东京11月26日电 日本石川县能登半岛26日上午9时5分发生6.4级地震，震源深度约10公里，"
    "轮岛市观测到最大震度6弱。日本气象厅表示，此次地震暂无引发海啸的危险。</p>"
    "<p>受地震影响，轮岛市和珠洲市部分地区停电，约1200户受到影响，北陆新干线一度停运。</p>"
)


def test_a_bulletin_from_two_feeds_reads_each_event_once_and_survives_bad_sources(edge, site, tmp_path):
    """``bulletin build RSS ATOM --since 12h -o news.mp3``: teasers read from their pages, full
    Atom content used, the quake told by both wires read once, nothing older than 12 hours,
    no furniture spoken; a malformed feed, a 404 and a stalled server beside them are
    reported and the bulletin is still made."""
    pages = serve_pages(site)
    teasers = site.add(
        "/rss.xml",
        rss(
            [
                {
                    "title": "日本石川縣規模6.4地震",
                    "link": pages["cna-quake"],
                    "date": ago(1),
                    "summary": "地震…",
                },
                {
                    "title": "快訊／北市信義區大樓火警",
                    "link": pages["udn-flash"],
                    "date": ago(2),
                    "summary": "火警。",
                },
                {"title": "昨天的新聞", "link": pages["portal-rate"], "date": ago(20), "summary": "舊聞。"},
            ]
        ),
        content_type="application/rss+xml",
    )
    full = site.add(
        "/atom.xml",
        atom(
            [
                {
                    "title": "日本石川县发生6.4级地震",
                    "link": site.url("/a/1"),
                    "date": ago(1, rfc822=False),
                    "content": QUAKE_XINHUA,
                },
                {
                    "title": "央行宣布降准",
                    "link": site.url("/a/2"),
                    "date": ago(3, rfc822=False),
                    "content": FULL_STORY,
                },
            ]
        ),
        content_type="application/atom+xml",
    )
    broken = site.add("/broken.xml", "<rss><channel><title>壞", content_type="application/rss+xml")
    missing = site.url("/gone.xml")
    stalled = site.add("/slow.xml", fault="stall")
    out, report = tmp_path / "news.mp3", tmp_path / "report.json"
    started = time.monotonic()
    result = run(
        "build", teasers, full, broken, missing, stalled, "--since", "12h", "--source-timeout", "2",
        "--engine", "edge", "-o", str(out), "--report", str(report),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started < 30
    assert out.is_file()
    data = json.loads(report.read_text(encoding="utf-8"))
    status = {s["source"]: s["status"] for s in data["sources"]}
    assert status == {teasers: "ok", full: "ok", broken: "failed", missing: "failed", stalled: "failed"}
    assert [s["skipped"] for s in data["sources"][:1]] == [1]  # the 20-hour-old item
    (fold,) = data["folded"]  # the quake, from the CNA page and the Xinhua feed
    assert len(fold["folded"]) == 1
    spoken = "".join(edge.texts)
    assert spoken.count("能登半島") + spoken.count("能登半岛") == 1  # the quake once
    assert "信義區" in spoken and ("降准" in spoken or "準備金" in spoken or "准备金" in spoken)
    for piece in [
        *FURNITURE,
        "中央社記者",
        "新华社",
        "快訊",
        "記者林小美",
        "昨天的新聞",
        "日本石川縣規模6.4地震",
    ]:
        assert piece not in spoken, piece
    for name in (broken, missing, stalled):
        assert sum(name in line for line in result.stderr.splitlines() if "warning" in line) == 1


def test_relative_item_links_are_read_against_the_feed_url(site):
    pages = serve_pages(site)
    path = "/" + pages["cna-quake"].split("/", 3)[3]
    feed = site.add(
        "/rel.xml",
        rss([{"title": "地震", "link": path, "date": ago(1), "summary": "地震…"}]),
        content_type="application/rss+xml",
    )
    result, plan = dry_run(feed)
    assert result.exit_code == 0, result.output
    assert "輪島市測得最大震度6弱" in plan["text"] and "warning" not in result.stderr
