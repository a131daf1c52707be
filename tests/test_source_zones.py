"""Times without a zone take the source's zone, never the machine's silently (issue 19).

A CNA-style page prints ``2026/11/26 21:20`` and means Taipei time; on a UTC machine (a
real process started with ``TZ=UTC``) it is read as 21:20+08:00, found from the page's
language, from its other times' offsets, from a feed's ``<language>``, from a programme's
per-source ``timezone`` or ``--source-timezone``; only when nothing tells is the machine's
zone used, with a warning. ``--since`` then keeps and skips the right items.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT
from conftest import run_cli as run
from fake_news import NewsSite

STORY = (
    "（中央社記者王小明台北26日電）行政院今天宣布，明年起調高基本工資，月薪調整為新台幣2萬9500元。",
    "勞動部長表示，這次調整將讓約240萬名勞工受惠，企業人事成本每年增加約新台幣200億元。",
    "經濟學者認為，調幅符合物價上漲趨勢，但中小企業的負擔仍需政府以補助與減稅協助。",
)


def cna_page(*, lang: str | None = "zh-Hant-TW", extra_head: str = "") -> str:
    """An article page giving its time the way CNA does: no offset."""
    body = "".join(f"<p>{p}</p>" for p in STORY)
    lang_attr = f' lang="{lang}"' if lang else ""
    return (
        f'<!DOCTYPE html><html{lang_attr}><head><meta charset="utf-8">'
        "<title>基本工資明年調漲 | 中央社</title>"
        f'<meta itemprop="datePublished" content="2026/11/26 21:20">{extra_head}</head>'
        f'<body><h1>基本工資明年調漲</h1><div class="updatetime">2026/11/26 21:20</div>'
        f'<div class="paragraph">{body}</div></body></html>'
    )


def rss(*, language: str | None, date: str = "Thu, 26 Nov 2026 21:20:00") -> str:
    body = "".join(f"<p>{p}</p>" for p in STORY)
    lang = f"<language>{language}</language>" if language else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>中央社</title>'
        f"<link>http://127.0.0.1/</link>{lang}<item><title>基本工資明年調漲</title>"
        f"<link>/news/1.html</link><pubDate>{date}</pubDate>"
        f"<content:encoded><![CDATA[{body}]]></content:encoded></item></channel></rss>"
    )


@pytest.fixture
def site(monkeypatch, tmp_path):
    monkeypatch.setenv("BULLETIN_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("BULLETIN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TZ", "UTC")
    with NewsSite() as news:
        yield news


def bulletin_on_a_utc_machine(tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    """``bulletin ARGS`` in a process of its own, its machine's zone UTC."""
    env = {
        **os.environ,
        "TZ": "UTC",
        "BULLETIN_STATE_DIR": str(tmp_path / "state"),
        "BULLETIN_CACHE_DIR": str(tmp_path / "cache"),
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    return subprocess.run(
        [sys.executable, "-m", "bulletin", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )


def published(plan: dict) -> list[str]:
    return [a["published"] for a in plan["articles"]]


def test_a_cna_style_naive_time_is_taipei_time_on_a_utc_machine(site, tmp_path):
    page = site.add("/news/1.html", cna_page())
    feed = site.add("/rss.xml", rss(language="zh-tw"), content_type="application/rss+xml")
    done = bulletin_on_a_utc_machine(tmp_path, "clean", page, feed, "--json", "--no-fold")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert [a["published"] for a in data["articles"]] == ["2026-11-26T21:20:00+08:00"] * 2
    assert "machine's zone" not in done.stderr


def test_since_keeps_and_skips_by_the_sources_zone(site, tmp_path):
    feed = site.add("/rss.xml", rss(language="zh-tw"), content_type="application/rss+xml")
    # 21:20 in Taipei is 13:20 UTC: before 13:30 UTC, after 13:10 UTC
    later = bulletin_on_a_utc_machine(tmp_path, "clean", feed, "--since", "2026-11-26T13:30:00Z", "--json")
    assert later.returncode == 0 and json.loads(later.stdout)["no_new_stories"], later.stderr
    earlier = bulletin_on_a_utc_machine(tmp_path, "clean", feed, "--since", "2026-11-26T13:10:00Z", "--json")
    assert earlier.returncode == 0, earlier.stderr
    assert STORY[1] in json.loads(earlier.stdout)["text"]


@pytest.mark.parametrize(
    ("how", "page", "options", "expected"),
    [
        ("the page's language", cna_page(lang="zh-TW"), (), "+08:00"),
        ("Hong Kong's language", cna_page(lang="zh-HK"), (), "+08:00"),
        (
            "another time in the page with its offset",
            cna_page(
                lang=None,
                extra_head='<script type="application/ld+json">{"dateModified": '
                '"2026-11-26T22:05:00+09:00"}</script>',
            ),
            (),
            "+09:00",
        ),
        ("--source-timezone", cna_page(lang=None), ("--source-timezone", "Asia/Kolkata"), "+05:30"),
        (
            "the page over --source-timezone",
            cna_page(lang="zh-CN"),
            ("--source-timezone", "Asia/Kolkata"),
            "+08:00",
        ),
    ],
)
def test_the_sources_zone_is_found(site, how, page, options, expected):
    url = site.add("/news/1.html", page)
    result = run("clean", url, "--json", *options)
    assert result.exit_code == 0, result.output
    (article,) = json.loads(result.stdout)["articles"]
    assert article["published"] == f"2026-11-26T21:20:00{expected}", how
    assert "machine's zone" not in result.stderr


def test_with_nothing_to_go_on_the_machines_zone_is_used_with_a_warning(site):
    url = site.add("/news/1.html", cna_page(lang=None))
    result = run("clean", url, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["articles"][0]["published"] == "2026-11-26T21:20:00+00:00"
    warning = f"{url}: times without a zone read in the machine's zone (UTC); give --source-timezone"
    assert warning in result.stderr
    assert any(warning in w for w in data["sources"][0]["warnings"])


def test_a_feeds_times_without_a_zone(site):
    feeds = {
        "zh-tw": site.add("/tw.xml", rss(language="zh-tw"), content_type="application/rss+xml"),
        "zh-cn": site.add("/cn.xml", rss(language="zh-cn"), content_type="application/rss+xml"),
        "with offset": site.add(
            "/z.xml",
            rss(language=None, date="Thu, 26 Nov 2026 21:20:00 +0900"),
            content_type="application/rss+xml",
        ),
    }
    for name, url in feeds.items():
        result = run("clean", url, "--json")
        assert result.exit_code == 0, result.output
        (article,) = json.loads(result.stdout)["articles"]
        expected = "2026-11-26T21:20:00+09:00" if name == "with offset" else "2026-11-26T21:20:00+08:00"
        assert article["published"] == expected, name


def test_a_programme_gives_a_sources_zone(site, tmp_path):
    url = site.add("/news/1.html", cna_page(lang=None))
    programme = tmp_path / "news.toml"
    programme.write_text(
        f'sources = [{{ source = "{url}", timezone = "Asia/Shanghai" }}]\n', encoding="utf-8"
    )
    result = run("build", "--programme", str(programme), "--dry-run", "--json", "--engine", "offline")
    assert result.exit_code == 0, result.output
    assert published(json.loads(result.stdout)) == ["2026-11-26T21:20:00+08:00"]
    programme.write_text(f'sources = [{{ source = "{url}", timezone = "Mars/Olympus" }}]\n', encoding="utf-8")
    bad = run("build", "--programme", str(programme), "--dry-run")
    assert bad.exit_code == 2
    assert "unknown time zone 'Mars/Olympus'" in bad.output and "Traceback" not in bad.output


def test_a_bad_source_timezone_is_a_one_line_usage_error(site):
    url = site.add("/news/1.html", cna_page())
    result = run("clean", url, "--source-timezone", "Taipei")
    assert result.exit_code == 2
    assert "unknown time zone 'Taipei'" in result.output and "Traceback" not in result.output
