"""Hostile sources, programmes and lexicons (issue 23): bounded, never an internal error.

Each case of the second hostile probe, through the CLI: what used to hang, grow without
bound, end in "internal error" or write something invalid. Where a case is about size,
the run's peak memory is measured in a child process (``test_bounds.peak_mb``), and every
child has a timeout, so a hang fails the test instead of stalling the suite. The inputs
are scaled to what proves the bound, not to the probe's sizes (the benchmarks keep those).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import ROOT
from conftest import run_cli as run
from test_usage_errors import bulletin_process, one_line_usage_error

ARTICLE = "六方會談今天在北京舉行，各方代表就朝鮮半島無核化問題交換意見。會談將持續三天。\n"
STORY = "台北市政府今天宣布，明年起擴大公車路網，新增十條路線，服務偏遠地區的居民。市府表示經費已編列完成。"
JSON_FEED = "https://jsonfeed.org/version/1.1"


def json_feed(items: list[dict[str, object]]) -> str:
    return json.dumps({"version": JSON_FEED, "title": "新聞", "items": items}, ensure_ascii=False)


def child(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``bulletin ARGS`` in its own process, killed (and the test failed) if it hangs."""
    return subprocess.run(
        [sys.executable, "-m", "bulletin", *args],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def article(tmp_path: Path) -> Path:
    path = tmp_path / "a.txt"
    path.write_text(ARTICLE, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- internal errors


@pytest.mark.parametrize("when", ["9999-12-31T23:59-12:00", "0001-01-01T00:00+14:00"])
def test_an_air_time_the_clock_cannot_hold_is_one_line(article: Path, when: str) -> None:
    line = one_line_usage_error(run("build", str(article), "--dry-run", "--air-time", when))
    assert "air time" in line and when in line


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"])
def test_a_since_the_clock_cannot_hold_is_one_line(article: Path, since: str) -> None:
    line = one_line_usage_error(run("clean", str(article), "--since", since))
    assert "--since" in line


def test_a_date_at_the_end_of_the_calendar_fails_its_item_only(tmp_path: Path) -> None:
    """A JSON Feed item dated 0001-01-01 failed the whole source; a page's too."""
    feed = tmp_path / "feed.json"
    feed.write_text(
        json_feed(
            [
                {"id": "1", "title": "甲", "content_text": ARTICLE, "date_published": "0001-01-01T00:00:00"},
                {"id": "2", "title": "乙", "content_text": STORY, "date_published": "2026-01-01T08:00:00Z"},
            ]
        ),
        encoding="utf-8",
    )
    page = tmp_path / "page.html"
    page.write_text(
        '<html><head><meta property="article:published_time" content="0001-01-01T00:00:00">'
        f"<title>公車路網</title></head><body><article><p>{STORY}</p></article></body></html>",
        encoding="utf-8",
    )
    result = run("clean", "--json", str(feed), str(page), "--since", "1h")
    assert result.exit_code == 0, result.output
    assert "0001-01-01" in result.stderr and "internal error" not in result.stderr
    sources = {Path(s["source"]).name: s for s in json.loads(result.stdout)["sources"]}
    assert sources["feed.json"]["status"] == "ok" and sources["feed.json"]["items"] == 1  # 乙 is too old
    assert sources["page.html"]["status"] == "ok" and sources["page.html"]["items"] == 1  # undated: read


@pytest.mark.parametrize("where", ["named", "folder"])
def test_a_json_feed_nested_200000_deep_is_one_bad_source(tmp_path: Path, where: str) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    deep = folder / "deep.json"
    nested = "[" * 200_000 + "]" * 200_000
    deep.write_text(json_feed([{"content_text": STORY, "x": "NESTED"}]).replace('"NESTED"', nested))
    if where == "named":
        line = one_line_usage_error(run("clean", str(deep)))
        assert "nested more than" in line
        return
    (folder / "b.txt").write_text(ARTICLE, encoding="utf-8")
    result = run("clean", str(folder))
    assert result.exit_code == 0, result.output
    assert "六方會談" in result.stdout and "nested more than" in result.stderr


def test_files_created_and_deleted_while_a_folder_is_read_are_no_error(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "keep.txt").write_text(ARTICLE, encoding="utf-8")
    churn = (  # in another process, so that it really runs while the folder is read
        "import pathlib, sys\n"
        "names = [pathlib.Path(sys.argv[1]) / f'churn{n}.txt' for n in range(300)]\n"
        "while True:\n"
        "    for p in names: p.write_text(sys.argv[2], encoding='utf-8')\n"
        "    for p in names: p.unlink()\n"
    )
    worker = subprocess.Popen([sys.executable, "-c", churn, str(folder), STORY])
    try:
        results = [run("clean", str(folder)) for _ in range(5)]
    finally:
        worker.kill()
        worker.wait()
    for result in results:
        assert result.exit_code == 0, result.output
        assert "internal error" not in result.stderr and "六方會談" in result.stdout


def test_pronounce_with_stdin_closed_is_one_line() -> None:
    done = bulletin_process("pronounce", "-", close=0)
    assert done.returncode == 2 and done.stderr.startswith("bulletin: error: -: stdin is closed")
    assert len(done.stderr.strip().splitlines()) == 1


# --------------------------------------------------------------------------- hangs


def test_a_jingle_that_is_a_concat_list_naming_a_fifo_is_refused(article: Path, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "never.wav")
    (tmp_path / "jingle.wav").write_text("ffconcat version 1.0\nfile never.wav\n", encoding="ascii")
    programme = tmp_path / "hourly.toml"
    programme.write_text('[opener]\naudio = "jingle.wav"\ntext = "晚安。"\n', encoding="utf-8")
    done = child("build", str(article), "--programme", str(programme), "--dry-run")
    assert done.returncode == 2 and "jingle.wav" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


# --------------------------------------------------------------------------- valid outputs


def test_cue_text_can_never_break_a_cue_or_time_one(edge, tmp_path: Path) -> None:
    text = tmp_path / "a.txt"
    text.write_text(
        "市府今天說明新制 --> 明天上路。\n\n00:00:01.000 --> 00:00:09.000 這行不是時間。\n", encoding="utf-8"
    )
    vtt, srt = tmp_path / "a.vtt", tmp_path / "a.srt"
    for subtitles in (vtt, srt):
        args = ("--engine", "edge", "-o", str(tmp_path / "a.mp3"), "--subtitles", str(subtitles))
        result = run("build", str(text), *args, "--force")
        assert result.exit_code == 0, result.output
    for subtitles in (vtt, srt):
        blocks = subtitles.read_text(encoding="utf-8").strip().split("\n\n")
        cues = blocks[1:] if subtitles == vtt else blocks
        for block in cues:
            lines = block.splitlines()
            timing = 0 if subtitles == vtt else 1
            assert "-->" in lines[timing] and lines[timing].count(":") == 4
            assert all("-->" not in line for line in lines[timing + 1 :]), block
            assert len(lines) > timing + 1  # every cue has text
    assert "明天上路" in vtt.read_text(encoding="utf-8") and "→" in vtt.read_text(encoding="utf-8")


def test_characters_xml_cannot_hold_never_reach_our_feed(edge, tmp_path: Path) -> None:
    """A headline with ``&#1;``, ``&#xFFFF;`` and BEL, read leniently, failed our feed on every run."""
    feed = tmp_path / "in.xml"
    feed.write_bytes(
        (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
            "<item><title>北市&#1;公車\x07路網&#xFFFF;擴大</title><link>http://example.org/1</link>"
            f"<description>{STORY}{STORY}</description></item></channel></rss>"
        ).encode()
    )
    out, ours = tmp_path / "out", tmp_path / "out" / "feed.xml"
    args = ["--engine", "edge", "--feed", str(ours), "--base-url", "https://example.org/news"]
    for n in range(2):
        result = run("build", str(feed), "-o", str(out / f"b{n}.mp3"), *args)
        assert result.exit_code == 0, result.output
    titles = [t.text for t in ET.parse(ours).getroot().iter("title")]
    assert "北市公車路網擴大" in titles


def test_the_dry_run_refuses_what_the_build_refuses(edge, article: Path, tmp_path: Path) -> None:
    args = (str(article), "--voice", "zm_yunxi", "--engine", "edge")
    dry = one_line_usage_error(run("build", *args, "--dry-run"))
    built = one_line_usage_error(run("build", *args, "-o", str(tmp_path / "x.mp3")))
    assert dry == built and "offline voice" in dry and edge.requests == 0


@pytest.mark.parametrize("days", ["nan", "inf"])
def test_cache_clear_older_than_must_be_days(tmp_path: Path, days: str) -> None:
    line = one_line_usage_error(run("cache", "clear", "--cache-dir", str(tmp_path), "--older-than", days))
    assert "--older-than" in line
