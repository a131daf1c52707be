"""The MP3, subtitles and feed are published as a set, or not at all (issue 12, items 1 and 9).

Each test publishes a first bulletin, then makes a second run fail at a different point
of publishing, and checks that the first bulletin's files are still there byte for byte,
that no temp file is left, and that the exit code says what happened. Reproductions from
the hostile-environment probe, through the CLI against the fake Edge server.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import ROOT
from conftest import run_cli as run

from bulletin.audio.settings import EncodeOptions
from bulletin.environment import Dirs
from bulletin.publish.feed import read_feed_items
from bulletin.run.build import run_build
from bulletin.run.options import BuildOptions, OutputOptions, PublishOptions, SourceOptions

A = "六方會談今天在北京舉行。\n"
B = "颱風凱米預計明天中午登陸。\n"


@pytest.fixture
def first(edge, tmp_path: Path) -> dict[str, Path]:
    """A published bulletin: MP3, subtitles and feed from ``a.txt``; ``b.txt`` for the next run."""
    (tmp_path / "a.txt").write_text(A, encoding="utf-8")
    (tmp_path / "b.txt").write_text(B, encoding="utf-8")
    files = {"mp3": tmp_path / "pub" / "news.mp3", "srt": tmp_path / "pub" / "news.srt"}
    files["feed"] = tmp_path / "pub" / "feed.xml"
    result = run("build", str(tmp_path / "a.txt"), *outputs(files), "--engine", "edge")
    assert result.exit_code == 0, result.output
    return files


def outputs(files: dict[str, Path]) -> list[str]:
    return [
        *("-o", str(files["mp3"]), "--subtitles", str(files["srt"])),
        *("--feed", str(files["feed"]), "--base-url", "https://radio.example/news"),
    ]


def contents(files: dict[str, Path]) -> dict[str, bytes]:
    return {name: path.read_bytes() for name, path in files.items()}


def no_temp_files(folder: Path) -> bool:
    return not [p.name for p in folder.iterdir() if p.name.endswith(".part")]


def build_b(files: dict[str, Path], *extra: str):
    b = files["mp3"].parent.parent / "b.txt"
    return run("build", str(b), *outputs(files), "--engine", "edge", *extra)


def test_a_feed_that_cannot_be_renamed_puts_the_new_mp3_back(first, monkeypatch) -> None:
    """The MP3 is renamed first; when the feed's rename then fails, the old MP3 comes back."""
    before = contents(first)
    real_replace = os.replace

    def failing(src, dst, *args, **kwargs):
        if Path(dst) == first["feed"]:
            raise OSError(28, "No space left on device")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr("bulletin.files.os.replace", failing)
    result = build_b(first)
    assert result.exit_code == 1
    assert "feed.xml" in result.stderr and "No space left" in result.stderr
    assert contents(first) == before
    assert no_temp_files(first["mp3"].parent)


def test_sigterm_while_the_feed_is_written_publishes_nothing(first, monkeypatch) -> None:
    """A real SIGTERM while the new feed is being written (before any rename)."""
    before = contents(first)
    import bulletin.files

    real_write = bulletin.files.write_bytes

    def terminated_midway(path, data, *, name=None):
        if name == first["feed"]:
            path.write_bytes(data[: len(data) // 2])
            os.kill(os.getpid(), signal.SIGTERM)
        return real_write(path, data, name=name)

    monkeypatch.setattr(bulletin.files, "write_bytes", terminated_midway)
    result = build_b(first)
    assert result.exit_code == 143 and "nothing was published" in result.stderr
    assert contents(first) == before
    assert no_temp_files(first["mp3"].parent)


def test_sigterm_between_the_renames_puts_everything_back(first, monkeypatch) -> None:
    """A real SIGTERM arriving after the MP3 is in place: terminated (143), nothing published."""
    before = contents(first)
    real_replace = os.replace

    def terminated_after_the_mp3(src, dst, *args, **kwargs):
        done = real_replace(src, dst, *args, **kwargs)
        if Path(dst) == first["mp3"]:
            os.kill(os.getpid(), signal.SIGTERM)
        return done

    monkeypatch.setattr("bulletin.files.os.replace", terminated_after_the_mp3)
    result = build_b(first)
    assert result.exit_code == 143 and "nothing was published" in result.stderr
    assert contents(first) == before
    assert no_temp_files(first["mp3"].parent)


def test_a_full_disk_under_the_feed_only_publishes_nothing(first, edge, tmp_path: Path) -> None:
    """For real: a file-size limit (``ulimit -f``) that the small MP3 fits under and the big
    feed does not. The run fails with one line; the old MP3, subtitles and feed stay."""
    items = "".join(
        f"<item><title>{'舊聞' * 4000}</title><guid>old-{n}</guid><pubDate>Thu, 26 Nov 2026 0{n}:00:00 +0000"
        f"</pubDate><enclosure url='http://x/{n}.mp3' length='1' type='audio/mpeg'/></item>"
        for n in range(8)
    )
    old_feed = f"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>{items}</channel></rss>"
    first["feed"].write_text(old_feed, encoding="utf-8")
    before = contents(first)
    limit = 120_000
    assert first["feed"].stat().st_size > 1.5 * limit > first["mp3"].stat().st_size * 3

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bulletin",
            "build",
            str(tmp_path / "b.txt"),
            *outputs(first),
            "--engine",
            "edge",
        ],
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=small_files,
        timeout=120,
    )
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1, done.stderr
    assert "feed.xml" in lines[-1] and "File too large" in lines[-1] and "internal error" not in done.stderr
    assert contents(first) == before
    assert no_temp_files(first["mp3"].parent)


def test_a_state_folder_that_is_a_file_is_a_warning_not_a_failure(first, monkeypatch, tmp_path) -> None:
    """The run state is a cache: the bulletin is published, the record is only missed."""
    blocker = tmp_path / "state-is-a-file"
    blocker.write_text("x", encoding="utf-8")
    monkeypatch.setenv("BULLETIN_STATE_DIR", str(blocker))
    before = contents(first)
    result = build_b(first)
    assert result.exit_code == 0, result.output
    assert "warning: the run state was not recorded" in result.stderr
    after = contents(first)
    assert all(after[name] != before[name] for name in after)  # all three are the new ones
    assert read_feed_items(first["feed"])[0].title.startswith("颱風凱米")


def test_a_read_only_state_folder_is_a_warning_not_a_failure(first, monkeypatch) -> None:
    """As root nothing is read-only, so the refusal (EROFS) is simulated where records are written."""
    from bulletin.errors import PublishError

    def read_only(path, text, encoding="utf-8"):
        raise PublishError(f"cannot write {path}: Read-only file system")

    monkeypatch.setattr("bulletin.publish.state.write_text_atomic", read_only)
    before = contents(first)
    result = build_b(first)
    assert result.exit_code == 0 and "Read-only file system" in result.stderr
    assert contents(first)["feed"] != before["feed"]


def test_a_full_disk_under_the_audio_is_one_line_and_keeps_the_old_bulletin(first, tmp_path) -> None:
    """``ulimit -f`` far below the raw audio of the new bulletin (written while assembling)."""
    before = contents(first)
    b = tmp_path / "b.txt"
    # a longer bulletin: its raw audio (~1 MB) is far over the limit, its text far under it
    b.write_text("".join(f"第{n}號颱風預計明天中午登陸。" for n in range(30)), encoding="utf-8")

    def tiny_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000))

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bulletin",
            "build",
            str(b),
            *outputs(first),
            "--engine",
            "edge",
            "--no-cache",
        ],
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        preexec_fn=tiny_files,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("bulletin: error:")
    assert "File too large" in done.stderr and "internal error" not in done.stderr
    assert contents(first) == before


def test_a_title_xml_cannot_hold_is_refused_before_synthesis(first, edge) -> None:
    before, requests = contents(first), edge.requests
    result = build_b(first, "--title", "新闻\x01摘要")
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert edge.requests == requests  # nothing was synthesized
    assert contents(first) == before


def test_a_feed_item_with_neither_title_nor_description_is_refused_before_synthesis(first, edge) -> None:
    text = first["feed"].read_text(encoding="utf-8")
    item = text.index("<item>")
    start, end = text.index("<title>", item), text.index("</description>", item)
    first["feed"].write_text(text[:start] + text[end + len("</description>") :], encoding="utf-8")
    before, requests = contents(first), edge.requests
    result = build_b(first)
    assert result.exit_code == 2, result.output
    assert "neither <title> nor <description>" in result.stderr
    assert edge.requests == requests
    assert contents(first) == before


def test_the_mp3_and_the_feed_cannot_be_one_file(first, edge) -> None:
    mp3 = str(first["mp3"])
    result = run(
        "build",
        str(first["mp3"].parent.parent / "b.txt"),
        "-o",
        mp3,
        "--feed",
        mp3,
        "--base-url",
        "http://x/",
    )
    assert result.exit_code == 2 and "same file" in result.stderr
    assert edge.requests == 1  # only the first bulletin's one chunk


# --------------------------------------------------------------------------- the clock going back


def test_a_clock_set_back_still_reaches_the_feed_and_reruns_are_unchanged(tmp_path: Path) -> None:
    """faketime -2h (issue 12, item 9): the bulletin made "earlier" goes on top of the feed,
    is not dropped by ``--feed-keep``, and running it again is "unchanged", not a new file."""
    from memory_engine import MemoryEngine

    (tmp_path / "a.txt").write_text(A, encoding="utf-8")
    (tmp_path / "b.txt").write_text(B, encoding="utf-8")
    feed = tmp_path / "pub" / "feed.xml"
    noon = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)

    def build(article: str, when: datetime):
        opts = BuildOptions(
            sources=SourceOptions(articles=(str(tmp_path / article),)),
            output=OutputOptions(
                path=str(tmp_path / "pub" / "{date:%H%M}.mp3"), encode=EncodeOptions(normalize=False)
            ),
            publish=PublishOptions(feed=str(feed), base_url="https://radio.example/news", feed_keep=1),
        )
        engine = MemoryEngine()
        report = run_build(opts, engine=engine, dirs=Dirs.under(tmp_path / "dirs"), clock=lambda: when)
        return report, engine

    build("a.txt", noon)
    late, _ = build("b.txt", noon - timedelta(hours=2))
    assert [Path(item.url).name for item in read_feed_items(feed)] == ["1000.mp3"]
    for clock in (noon - timedelta(hours=2), noon - timedelta(hours=3)):
        again, engine = build("b.txt", clock)
        assert again.skipped_unchanged == late.output.path and engine.texts == []
    assert sorted(p.name for p in feed.parent.glob("*.mp3")) == ["1000.mp3", "1200.mp3"]
