"""End to end through the CLI against the local fake Edge server (real edge-tts, real sockets).

Covers the bulletin as a whole: one request per chunk in order, recovery from transient
faults with a bulletin as long as a fault-free one, permanent failure (exit 1, nothing
published), the cache (no request on a re-run), skip-unchanged, stdout output, subtitles,
tags, the feed, locks, and a run killed mid-synthesis.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import feedparser
import pytest
from click.testing import CliRunner
from conftest import run_cli as run
from fake_edge import FakeEdgeServer
from mp3_duration import probe_duration
from mutagen.id3 import ID3

from bulletin.cli import main

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "six-party-talks.txt"


def plan(sample: Path) -> list[dict]:
    result = run("build", str(sample), "--dry-run", "--json", "--engine", "edge")
    return json.loads(result.stdout)["chunks"]


def test_edge_build_one_request_per_chunk_in_order(edge, sample, tmp_path):
    out = tmp_path / "out.mp3"
    result = run("build", str(sample), "--engine", "edge", "-o", str(out), "--no-cache")
    assert result.exit_code == 0, result.output
    chunks = plan(sample)
    assert edge.requests == len(chunks)
    assert sorted(edge.texts) == sorted(c["spoken"] for c in chunks)
    assert "engine: edge" in result.stderr
    duration = probe_duration(out)
    speech = sum(edge.seconds_for(c["spoken"]) for c in chunks)
    assert speech < duration < speech + 15
    assert ID3(out)["TIT2"].text[0].startswith("國際高度關注")
    assert "wrote" in result.stderr


@pytest.fixture(scope="module")
def clean_seconds(tmp_path_factory) -> float:
    """How long the sample's bulletin is when nothing goes wrong (made once for the module)."""
    folder = tmp_path_factory.mktemp("clean")
    with FakeEdgeServer(seconds_per_char=0.05) as server, pytest.MonkeyPatch.context() as mp:
        mp.setenv("BULLETIN_EDGE_WSS_URL", server.wss_url)
        mp.setenv("BULLETIN_EDGE_VOICES_URL", server.voices_url)
        mp.setenv("BULLETIN_CACHE_DIR", str(folder / "cache"))
        mp.setenv("BULLETIN_STATE_DIR", str(folder / "state"))
        out = folder / "clean.mp3"
        assert run("build", str(SAMPLE), "--engine", "edge", "-o", str(out), "--no-cache").exit_code == 0
        return probe_duration(out)


@pytest.mark.parametrize(
    "fault",
    ["no_audio", "close_before_audio", "close_mid_stream", "tcp_cut", "short_audio", "http_403", "http_500"],
)
def test_transient_faults_recovered_same_length(edge, sample, tmp_path, fault, clean_seconds):
    edge.set_fault(fault, times=2)
    out = tmp_path / "faulty.mp3"
    result = run(
        "build",
        str(sample),
        "--engine",
        "edge",
        "-o",
        str(out),
        "--no-cache",
        "--report",
        str(tmp_path / "r.json"),
    )
    assert result.exit_code == 0, result.output
    assert abs(probe_duration(out) - clean_seconds) < 0.1
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["exit_status"] == 0
    if fault not in ("http_403", "http_500"):
        assert report["chunks"]["retries"] >= 1


def test_permanent_failure_exit_1_names_chunk_keeps_old_bulletin(edge, sample, tmp_path):
    out = tmp_path / "out.mp3"
    out.write_bytes(b"previous bulletin")
    report = tmp_path / "report.json"
    edge.set_fault("http_500", times=None)
    result = run("build", str(sample), "--engine", "edge", "-o", str(out), "--report", str(report))
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("bulletin: error:") and "chunk" in lines[-1]
    assert out.read_bytes() == b"previous bulletin"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
    data = json.loads(report.read_text())
    assert data["exit_status"] == 1 and "chunk" in data["errors"][0]
    assert data["chunks"]["retries"] >= 3  # the failing chunk's retries are counted too


def test_edge_unreachable_is_temporary_exit_75(monkeypatch, sample, tmp_path):
    monkeypatch.setenv("BULLETIN_EDGE_WSS_URL", "ws://127.0.0.1:9/edge/v1?TrustedClientToken=x")
    result = run("build", str(sample), "--engine", "edge", "-o", str(tmp_path / "o.mp3"))
    assert result.exit_code == 75
    assert "unreachable" in result.stderr
    assert not (tmp_path / "o.mp3").exists()


def test_rerun_is_served_from_cache_and_unchanged_run_touches_nothing(edge, sample, tmp_path):
    out = tmp_path / "out.mp3"
    assert run("build", str(sample), "--engine", "edge", "-o", str(out)).exit_code == 0
    first = edge.requests
    assert first > 0
    before = out.stat()
    result = run("build", str(sample), "--engine", "edge", "-o", str(out))
    assert result.exit_code == 0
    assert "unchanged" in result.stderr
    assert edge.requests == first
    assert out.stat().st_mtime_ns == before.st_mtime_ns
    result = run("build", str(sample), "--engine", "edge", "-o", str(out), "--force")
    assert result.exit_code == 0, result.output
    assert edge.requests == first  # every chunk came from the cache
    assert "0 chunks synthesized" in result.stderr


def test_stdout_output_is_only_mp3(edge, sample):
    result = CliRunner().invoke(main, ["build", str(sample), "--engine", "edge", "-o", "-", "-q"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes[:3] == b"ID3"
    assert result.stderr == ""


def test_feed_and_templates(edge, sample, tmp_path):
    feed = tmp_path / "site" / "feed.xml"
    template = str(tmp_path / "site" / "{date:%Y%m%d}-{slug}.mp3")
    title = 'News <at> 6 & "quotes"'
    args = ["build", str(sample), "--engine", "edge", "-o", template]
    result = run(*args, "--feed", str(feed), "--base-url", "https://example.org/news/", "--title", title)
    assert result.exit_code == 0, result.output
    mp3s = list((tmp_path / "site").glob("*.mp3"))
    assert len(mp3s) == 1
    parsed = feedparser.parse(feed.read_bytes())
    assert parsed.version == "rss20" and not parsed.bozo
    entry = parsed.entries[0]
    assert entry.title == title
    assert entry.enclosures[0].href == f"https://example.org/news/{quote(mp3s[0].name)}"
    assert int(entry.enclosures[0].length) == mp3s[0].stat().st_size


def test_feed_urls_are_percent_encoded_for_chinese_slugs(edge, sample, tmp_path):
    feed = tmp_path / "feed.xml"
    template = str(tmp_path / "{slug}.mp3")
    args = ["build", str(sample), "--engine", "edge", "-o", template]
    result = run(*args, "--feed", str(feed), "--base-url", "https://example.org")
    assert result.exit_code == 0, result.output
    href = feedparser.parse(feed.read_bytes()).entries[0].enclosures[0].href
    assert href.isascii() and href.startswith("https://example.org/%E5%9C%8B")


def test_corrupt_feed_is_refused_before_synthesis_and_nothing_is_replaced(edge, sample, tmp_path):
    feed = tmp_path / "feed.xml"
    feed.write_text("<rss><channel><item>", encoding="utf-8")
    out, srt = tmp_path / "o.mp3", tmp_path / "o.srt"
    out.write_bytes(b"previous bulletin")
    srt.write_text("previous subtitles", encoding="utf-8")
    args = ["-o", str(out), "--subtitles", str(srt)]
    args += ["--feed", str(feed), "--base-url", "https://example.org/"]
    result = run("build", str(sample), "--engine", "edge", *args)
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1
    assert "feed.xml" in result.stderr
    assert feed.read_text(encoding="utf-8") == "<rss><channel><item>"
    assert out.read_bytes() == b"previous bulletin"
    assert srt.read_text(encoding="utf-8") == "previous subtitles"
    assert edge.requests == 0


def test_separator_paragraphs_are_not_sent_to_the_voice(edge, tmp_path):
    article = tmp_path / "sep.txt"
    article.write_text("北京今天下雨。\n\n——\n\n＊＊＊\n\n上海今天晴天。\n", encoding="utf-8")
    result = run("build", str(article), "--engine", "edge", "-o", str(tmp_path / "o.mp3"))
    assert result.exit_code == 0, result.output
    assert edge.requests == 2


def test_unchanged_run_restores_deleted_subtitles(edge, sample, tmp_path):
    out, srt = tmp_path / "o.mp3", tmp_path / "o.srt"
    args = ["build", str(sample), "--engine", "edge", "-o", str(out), "--subtitles", str(srt)]
    assert run(*args).exit_code == 0
    srt.unlink()
    result = run(*args)
    assert result.exit_code == 0
    assert "unchanged:" not in result.stderr
    assert srt.exists()
    assert "unchanged:" in run(*args).stderr


def test_bad_output_template_is_refused_before_any_work(edge, sample, tmp_path):
    for template, message in ((str(tmp_path / "{nope}.mp3"), "nope"), (str(tmp_path), "folder")):
        result = run("build", str(sample), "--engine", "edge", "-o", template)
        assert result.exit_code == 2, result.output
        assert message in result.stderr
        assert "engine:" not in result.stderr
    assert edge.requests == 0


def test_stdout_closed_early_is_quiet(edge, sample, tmp_path):
    env = _env(edge, tmp_path)
    producer = subprocess.Popen(
        [sys.executable, "-m", "bulletin", "build", str(sample), "--engine", "edge", "-o", "-", "-q"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert producer.stdout is not None
    producer.stdout.read(100)
    producer.stdout.close()
    assert producer.wait(timeout=120) == 141
    assert producer.stderr.read() == b""


def _cli(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bulletin", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_as_from_a_terminal,
    )


def _as_from_a_terminal() -> None:
    """The run starts with Ctrl-C's default disposition, as from a terminal. An ignored SIGINT
    is inherited across exec, and a library in this test process may have left it ignored:
    the SIGINT test's run then never saw its Ctrl-C (its main thread was still waking every
    0.25 s a minute later)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _env(edge: FakeEdgeServer, tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        BULLETIN_EDGE_WSS_URL=edge.wss_url,
        BULLETIN_EDGE_VOICES_URL=edge.voices_url,
        BULLETIN_CACHE_DIR=str(tmp_path / "cache"),
        BULLETIN_STATE_DIR=str(tmp_path / "state"),
    )
    return env


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_run_killed_mid_synthesis_leaves_old_bulletin_and_feed(edge, sample, tmp_path, sig, monkeypatch):
    env = _env(edge, tmp_path)
    temp = tmp_path / "tmp"  # the runs' temp folder, to see what a killed one leaves there
    temp.mkdir()
    env["TMPDIR"] = str(temp)
    env["PYTHONFAULTHANDLER"] = "1"  # SIGABRT then prints every thread's stack (see below)
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    out = tmp_path / "pub" / "news.mp3"
    feed = tmp_path / "pub" / "feed.xml"
    args = ["build", str(sample), "--engine", "edge", "-o", str(out)]
    args += ["--feed", str(feed), "--base-url", "https://example.org/", "--no-cache"]
    first = run(*args)  # the bulletin and feed already published (made in-process: quicker)
    assert first.exit_code == 0, first.output
    old_mp3, old_feed = out.read_bytes(), feed.read_bytes()
    edge.reset()  # count only the killed run's requests: kill it mid-synthesis, not before
    edge.set_fault("stall", times=None)
    second = _cli([*args, "--force"], env)
    deadline = time.monotonic() + 30
    while edge.requests == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    second.send_signal(sig)
    try:
        code = second.wait(timeout=60)
    except subprocess.TimeoutExpired:  # seen once in a while under heavy load: say where it hung
        status = Path(f"/proc/{second.pid}/status").read_text()
        second.send_signal(signal.SIGABRT)
        stacks = second.communicate(timeout=30)[1]
        ignored = next((x for x in status.splitlines() if x.startswith("SigIgn")), "")
        pytest.fail(f"no exit within 60 s of {sig.name} ({ignored}); the run's threads:\n{stacks[-6000:]}")
    assert code != 0
    if sig != signal.SIGKILL:
        assert "Traceback" not in second.stderr.read()
    assert out.read_bytes() == old_mp3
    assert feed.read_bytes() == old_feed
    leftovers = [p.name for p in out.parent.iterdir() if p.name.endswith(".part")]
    assert leftovers == []
    mine = [p for p in temp.iterdir() if p.name.startswith(f"bulletin-{second.pid}-")]
    if sig != signal.SIGKILL:
        assert mine == []  # cleaned up on the way out
    else:  # SIGKILL leaves them; the next run sees their owner is gone and removes them
        assert mine
        edge.set_fault(None)
        assert run(*args, "--force").exit_code == 0
        assert not any(p.exists() for p in mine)


def test_two_runs_on_one_output_one_wins_other_busy(edge, tmp_path):
    env = _env(edge, tmp_path)
    out = tmp_path / "news.mp3"
    story = tmp_path / "story.txt"
    story.write_text(SHORT, encoding="utf-8")
    edge.latency = 2.0  # the winner holds the lock while Edge takes its time
    args = ["build", str(story), "--engine", "edge", "-o", str(out), "--no-cache", "--force"]
    a = _cli(args, env)
    holder = tmp_path / ".news.mp3.lock.json"  # written by the run that holds the lock
    deadline = time.monotonic() + 60
    while not holder.exists() and a.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    b = _cli(args, env)  # a second run of the same job while the first is at work
    codes = [a.wait(timeout=120), b.wait(timeout=120)]
    assert codes == [0, 75], (a.stderr.read(), b.stderr.read())
    busy = b.stderr.read()
    assert "locked by pid" in busy and f"pid {a.pid}" in busy
    assert probe_duration(out) > 2  # the winner published a whole bulletin


def test_several_articles_make_one_bulletin_with_a_chapter_per_story(edge, sample, tmp_path):
    second = tmp_path / "second.txt"
    second.write_bytes(
        "国家统计局今天发布数据，三月居民消费价格同比上涨0.1%。\r\n分析人士认为物价将保持温和。\r\n".encode(
            "gb18030"
        )
    )
    out = tmp_path / "two.mp3"
    result = run("build", str(sample), str(second), "--engine", "edge", "-o", str(out), "--author", "新聞部")
    assert result.exit_code == 0, result.output
    tags = ID3(out)
    chapters = tags.getall("CHAP")
    assert len(chapters) == 2 and len(tags.getall("CTOC")) == 1
    assert chapters[0].start_time == 0 and chapters[0].end_time == chapters[1].start_time
    assert chapters[1].sub_frames["TIT2"].text[0].startswith("国家统计局")
    assert tags["TPE1"].text[0] == "新聞部"
    assert 0 < chapters[1].start_time < chapters[1].end_time


SHORT = "颱風凱米今天凌晨登陸宜蘭。行政院宣布全台停班停課。\n"


def test_templated_output_lock_names_the_template(edge, sample, tmp_path):
    from bulletin.publish.lock import output_lock
    from bulletin.run.options import BuildOptions, OutputOptions, SourceOptions
    from bulletin.run.outputs import lock_target

    template = str(tmp_path / "pub" / "{date:%H%M}-{slug}.mp3")
    options = BuildOptions(
        sources=SourceOptions(articles=(str(sample),)), output=OutputOptions(path=template)
    )
    target = lock_target(options)
    assert target is not None
    with output_lock(target, 0):
        result = run("build", str(sample), "--engine", "edge", "-o", template)
    assert result.exit_code == 75
    assert f"{template} is locked by pid" in result.stderr
    other = str(tmp_path / "pub" / "{slug}.mp3")  # another job, same folder: not blocked
    with output_lock(target, 0):
        assert run("build", str(sample), "--engine", "edge", "-o", other).exit_code == 0
