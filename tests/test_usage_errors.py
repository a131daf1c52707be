"""Usage errors are usage errors: one line, exit 2, never "internal error"; every read is bounded.

Reproductions from the hostile-environment probe (issue 12, items 3 and 6).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from conftest import run_cli as run

ARTICLE = "六方會談今天在北京舉行。\n"


def one_line_usage_error(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bulletin: error:"), result.stderr
    assert "internal error" not in lines[0]
    return lines[0]


@pytest.fixture
def article(tmp_path: Path) -> Path:
    path = tmp_path / "a.txt"
    path.write_text(ARTICLE, encoding="utf-8")
    return path


@pytest.mark.parametrize("codec", ["rot13", "hex", "base64", "zlib", "uu", "quopri", "bz2", "undefined"])
def test_encoding_that_is_not_a_text_codec(article: Path, codec: str) -> None:
    line = one_line_usage_error(run("clean", str(article), "--encoding", codec))
    assert codec in line


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_lock_timeout_must_be_seconds(article: Path, tmp_path: Path, value: str) -> None:
    line = one_line_usage_error(
        run("build", str(article), "--lock-timeout", value, "-o", str(tmp_path / "x.mp3"))
    )
    assert "--lock-timeout" in line


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--rate", "+10%\n"),
        ("--volume", "-5%\n"),
        ("--pitch", "+2Hz\n"),
        ("--voice", "tw-news\n"),
        ("--voice", "zh-CN-XiaoxiaoNeural\n"),
        ("--rate", " +10%"),
    ],
)
def test_prosody_and_voice_with_stray_whitespace_are_refused(article: Path, option: str, value: str) -> None:
    line = one_line_usage_error(run("build", str(article), option, value, "--dry-run"))
    assert option.removeprefix("--") in line


def test_dev_zero_is_refused_unread() -> None:
    line = one_line_usage_error(run("clean", "/dev/zero"))
    assert "/dev/zero" in line and "not a regular file" in line


@pytest.mark.parametrize("command", [("clean",), ("build", "--dry-run")])
def test_a_fifo_is_refused_unread_not_waited_on(tmp_path: Path, command: tuple[str, ...]) -> None:
    """A FIFO nobody writes to blocked a plain open forever (issue 23): it is not opened."""
    fifo = tmp_path / "article.txt"
    os.mkfifo(fifo)
    line = one_line_usage_error(run(*command, str(fifo)))
    assert "not a regular file" in line and "-" in line


# ---- outputs are files (issue 12, item 5) -------------------------------------------------


def test_an_output_over_an_input_is_refused_and_the_article_is_kept(article: Path) -> None:
    before = article.read_bytes()
    line = one_line_usage_error(run("build", str(article), "-o", str(article), "--engine", "offline"))
    assert "same file" in line
    assert article.read_bytes() == before


@pytest.mark.parametrize("other", ["--report", "--subtitles", "--feed"])
def test_two_outputs_in_one_file_are_refused(article: Path, tmp_path: Path, other: str) -> None:
    out = tmp_path / ("x.srt" if other == "--subtitles" else "x.mp3")
    args = ["build", str(article), "-o", str(out), other, str(out), "--engine", "offline"]
    line = one_line_usage_error(run(*args, "--base-url", "https://example.org/"))
    assert "same file" in line and not out.exists()


@pytest.mark.parametrize("target", ["/dev/null", "fifo", "link-to-stdout"])
def test_non_regular_targets_are_refused(article: Path, tmp_path: Path, target: str) -> None:
    path = Path(target)
    if target == "fifo":
        path = tmp_path / "out.mp3"
        os.mkfifo(path)
    elif target == "link-to-stdout":
        path = tmp_path / "out.mp3"
        path.symlink_to("/proc/self/fd/1")
    line = one_line_usage_error(run("build", str(article), "-o", str(path), "--engine", "offline"))
    assert "not a regular file" in line
    assert target == "/dev/null" or path.is_symlink() or path.is_fifo()  # left as it was


def test_a_link_to_a_regular_file_is_an_ordinary_output(article: Path, tmp_path: Path) -> None:
    """What a link points at decides: a link to a file may be replaced by the new bulletin."""
    link = tmp_path / "latest.mp3"
    link.symlink_to(tmp_path / "real.mp3")
    (tmp_path / "real.mp3").write_bytes(b"old")
    result = run("build", str(article), "-o", str(link), "--dry-run")
    assert result.exit_code == 0, result.output


# ---- the report is written on early failures too (issue 12, item 6) -----------------------


@pytest.mark.parametrize(
    "bad",
    [["--bitrate", "garbage"], ["-o", "{nope}.mp3"], ["-o", "/proc/no/such/folder/x.mp3"]],
)
def test_report_is_written_when_the_run_is_refused_early(
    article: Path, tmp_path: Path, bad: list[str]
) -> None:
    report = tmp_path / "r.json"
    line = one_line_usage_error(run("build", str(article), *bad, "--report", str(report)))
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["exit_status"] == 2 and data["errors"] == [line.removeprefix("bulletin: error: ")]


# --------------------------------------------------------------------------- closed streams, odd names


def bulletin_process(*args: str, close: int) -> subprocess.CompletedProcess[str]:
    """``bulletin ARGS`` started with file descriptor ``close`` closed (``<&-`` or ``>&-``)."""
    return subprocess.run(
        [sys.executable, "-m", "bulletin", *args],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stderr=subprocess.PIPE,
        preexec_fn=lambda: os.close(close),
        text=True,
        timeout=60,
    )


def test_stdin_closed_is_a_usage_error() -> None:
    done = bulletin_process("clean", "-", close=0)
    assert done.returncode == 2 and done.stderr.strip() == (
        "bulletin: error: <stdin>: is closed; pipe the article in, or name its file"
    )


def test_stdout_closed_with_dash_o_dash_is_a_usage_error(article: Path) -> None:
    done = bulletin_process("build", str(article), "-o", "-", "--dry-run", close=1)
    assert done.returncode == 2 and "stdout is closed" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("url", ["ws://[::1", "ws://127.0.0.1:99999/edge", "http://127.0.0.1/x"])
def test_a_malformed_edge_url_is_a_usage_error(article: Path, tmp_path: Path, monkeypatch, url) -> None:
    monkeypatch.setenv("BULLETIN_EDGE_WSS_URL", url)
    line = one_line_usage_error(run("build", str(article), "--engine", "edge", "-o", str(tmp_path / "x.mp3")))
    assert "BULLETIN_EDGE_WSS_URL" in line


def test_names_that_are_not_utf8_work_everywhere(edge, tmp_path: Path) -> None:
    """An article named in GBK bytes, a 0xff byte in every output's name: the run, the lock's
    holder note, the report, the state record and the feed all take them."""
    folder = os.fsencode(tmp_path)
    gbk_article = os.fsdecode(folder + b"/\xd6\xd0\xce\xc4.txt")  # 中文 in GBK
    Path(gbk_article).write_text(ARTICLE, encoding="utf-8")
    names = {
        kind: os.fsdecode(folder + b"/out\xff." + kind.encode()) for kind in ("mp3", "srt", "xml", "json")
    }
    args = ["build", gbk_article, "--engine", "edge", "-o", names["mp3"], "--subtitles", names["srt"]]
    args += ["--feed", names["xml"], "--base-url", "https://radio.example/", "--report", names["json"]]
    first = run(*args)
    assert first.exit_code == 0, first.output
    assert all(os.path.exists(name) for name in names.values())
    report = json.loads(Path(names["json"]).read_text(encoding="utf-8"))
    assert report["inputs"][0]["path"] == gbk_article and report["output"]["path"] == names["mp3"]
    assert "out%FF.mp3" in Path(names["xml"]).read_text(encoding="utf-8")
    again = run(*args)
    assert again.exit_code == 0 and "unchanged" in again.stderr


def test_a_name_too_long_for_its_temp_file_is_refused_before_work(article: Path, tmp_path: Path) -> None:
    line = one_line_usage_error(run("build", str(article), "-o", str(tmp_path / ("x" * 240 + ".mp3"))))
    assert "too long" in line and "at most 236" in line


def test_a_template_whose_slug_can_make_the_name_too_long_is_refused(article: Path, tmp_path: Path) -> None:
    line = one_line_usage_error(run("build", str(article), "-o", str(tmp_path / ("x" * 100 + "{slug}.mp3"))))
    assert "{slug}" in line and "too long" in line
    assert (
        run("build", str(article), "-o", str(tmp_path / ("x" * 50 + "{slug}.mp3")), "--dry-run").exit_code
        == 0
    )


def test_dev_urandom_is_refused_unread() -> None:
    line = one_line_usage_error(run("clean", "/dev/urandom"))
    assert "/dev/urandom" in line


@pytest.mark.parametrize("feed", ["/dev/zero", "fifo"])
def test_a_feed_that_is_not_a_regular_file_is_refused_before_work(
    article: Path, tmp_path: Path, feed
) -> None:
    path = Path(feed)
    if feed == "fifo":
        path = tmp_path / "feed.xml"
        os.mkfifo(path)
    args = ["build", str(article), "-o", str(tmp_path / "x.mp3"), "--feed", str(path)]
    line = one_line_usage_error(run(*args, "--base-url", "https://example.org/", "--engine", "offline"))
    assert "not a regular file" in line and not (tmp_path / "x.mp3").exists()
