"""The rest of the CLI on real files: preview, voices, cache, progress, odd but speakable input,
and the automatic fallback to the offline voice."""

from __future__ import annotations

import io
import json
import shutil

from conftest import run_cli as run
from mp3_duration import probe_duration

from bulletin.cli import Console


def test_preview_without_a_player_writes_the_file_and_prints_its_path(edge, sample, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no ffplay, mpv, aplay, ...
    monkeypatch.chdir(tmp_path)
    result = run("preview", str(sample), "--engine", "edge", "--seconds", "5")
    assert result.exit_code == 0, result.output
    path = result.stdout.strip()
    assert path.endswith(".mp3")
    assert probe_duration(path) > 1
    assert "no audio player" in result.stderr
    assert edge.requests < 5  # only the first chunks were synthesized


def test_preview_out_file(edge, sample, tmp_path):
    out = tmp_path / "p.mp3"
    result = run("preview", str(sample), "--engine", "edge", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out)
    assert out.read_bytes()[:3] == b"ID3" or out.read_bytes()[:2] == b"\xff\xfb" or out.stat().st_size > 1000


def test_voices_online_lists_mandarin_voices(edge):
    result = run("voices", "--online")
    assert result.exit_code == 0, result.output
    assert "zh-TW-HsiaoChenNeural" in result.stdout


def test_voices_online_unreachable_is_temporary(monkeypatch):
    monkeypatch.setenv("BULLETIN_EDGE_VOICES_URL", "http://127.0.0.1:9/voices/list?x=1")
    result = run("voices", "--online")
    assert result.exit_code == 75
    assert len(result.stderr.strip().splitlines()) == 1


def test_cache_info_and_clear(edge, sample, tmp_path):
    cache = tmp_path / "cache"
    assert run("build", str(sample), "--engine", "edge", "-o", str(tmp_path / "o.mp3")).exit_code == 0
    info = run("cache", "info")
    assert str(cache) in info.stdout
    entries = int(info.stdout.splitlines()[1].split()[0])
    assert entries == edge.requests + 1  # every chunk, and the assembled bulletin
    cleared = run("cache", "clear", "--cache-dir", str(cache))
    assert f"removed {entries}" in cleared.stdout
    assert run("cache", "info").stdout.splitlines()[1].startswith("0 entries")


def test_verbose_and_quiet(edge, sample, tmp_path):
    loud = run("build", str(sample), "--engine", "edge", "-o", str(tmp_path / "a.mp3"), "-v")
    assert "removed 110 repeated sentences" in loud.stderr
    quiet = run("build", str(sample), "--engine", "edge", "-o", str(tmp_path / "b.mp3"), "-q")
    assert quiet.exit_code == 0 and quiet.stderr == "" and quiet.stdout == ""


def test_progress_bar_only_on_a_terminal(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    console = Console()
    console.tty = True
    console.progress(3, 10, 12.5)
    console.progress(10, 10, 40.0)
    assert (
        "3/10 chunks" in stream.getvalue()
        and "12.5s audio" in stream.getvalue()
        and "ETA" in stream.getvalue()
    )
    stream.truncate(0)
    console = Console()
    console.tty = False
    console.progress(3, 10, 12.5)
    assert stream.getvalue() == ""


def test_speakable_odd_input_gives_a_bulletin_and_markup_is_text(edge, tmp_path):
    article = tmp_path / "odd.txt"
    article.write_text(
        "記者<speak>報導</voice>，今天\x07天氣晴😀。\r\n氣溫攝氏30度，降雨機率10%。\r\n", encoding="utf-8"
    )
    out = tmp_path / "odd.mp3"
    result = run("build", str(article), "--engine", "edge", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert probe_duration(out) > 1
    assert any("報導" in t for t in edge.texts)
    assert not any("<speak>" in t or "voice>" in t for t in edge.texts)  # markup dropped, never SSML
    assert not any("<speak>" in ssml.replace("<speak version", "") for ssml in edge.ssml)


def test_fifty_megabyte_file_is_refused_in_one_line(tmp_path):
    big = tmp_path / "big.txt"
    with big.open("wb") as f:
        f.truncate(50 * 1024 * 1024)
    result = run("build", str(big), "-o", str(tmp_path / "o.mp3"))
    assert result.exit_code == 2
    assert "input limit" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_report_written_on_bad_input(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    report = tmp_path / "r.json"
    result = run("build", str(empty), "-o", str(tmp_path / "o.mp3"), "--report", str(report))
    assert result.exit_code == 2
    data = json.loads(report.read_text())
    assert data["exit_status"] == 2 and "empty" in data["errors"][0]


def test_cache_clear_older_than_keeps_recent_entries(edge, sample, tmp_path):
    import os
    import time

    assert run("build", str(sample), "--engine", "edge", "-o", str(tmp_path / "o.mp3")).exit_code == 0
    entries = sorted((tmp_path / "cache").rglob("*.clip"))
    old = time.time() - 40 * 86400
    for path in entries[:3]:
        os.utime(path, (old, old))
    result = run("cache", "clear", "--older-than", "30")
    assert result.exit_code == 0 and "removed 3 cache entries" in result.stdout
    assert len(list((tmp_path / "cache").rglob("*.clip"))) == len(entries) - 3


def test_quiet_means_silent_even_when_the_cache_repairs_itself(edge, sample, tmp_path):
    assert run("build", str(sample), "--engine", "edge", "-o", str(tmp_path / "o.mp3")).exit_code == 0

    def tear_a_clip() -> None:
        # the assembled bulletin would be reused without reading a clip: drop it too
        shutil.rmtree(next((tmp_path / "cache").rglob("bulletins")))
        next(iter(sorted((tmp_path / "cache").rglob("??/*.clip")))).write_bytes(b"torn")

    tear_a_clip()
    quiet = run("build", str(sample), "--engine", "edge", "-o", str(tmp_path / "o.mp3"), "--force", "-q")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    tear_a_clip()
    loud = run("build", str(sample), "--engine", "edge", "-o", str(tmp_path / "o.mp3"), "--force")
    assert "bulletin: cache: removing corrupt entry" in loud.stderr
