"""Usage errors are usage errors: one line, exit 2, never "internal error"; every read is bounded.

Reproductions from the hostile-environment probe (issue 12, items 3 and 6).
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import pytest
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


def test_dev_zero_is_refused_after_a_bounded_read() -> None:
    line = one_line_usage_error(run("clean", "/dev/zero"))
    assert "/dev/zero" in line and "limit" in line


def test_a_fifo_fed_forever_is_refused_after_a_bounded_read(tmp_path: Path) -> None:
    fifo = tmp_path / "feed"
    os.mkfifo(fifo)

    def feed_forever() -> None:
        with contextlib.suppress(OSError), open(fifo, "wb") as pipe:
            while True:
                pipe.write(ARTICLE.encode("utf-8") * 4096)

    writer = threading.Thread(target=feed_forever, daemon=True)
    writer.start()
    line = one_line_usage_error(run("clean", str(fifo)))
    assert "limit" in line
    writer.join(timeout=10)
    assert not writer.is_alive()  # the reader closed the pipe; the writer got EPIPE
