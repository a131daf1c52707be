"""Safe publishing: atomic writes, crash leftovers, the output lock, output names, skip-unchanged."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from datetime import datetime
from pathlib import Path

import pytest

from bulletin.environment import dirs
from bulletin.errors import BusyError, ConfigError, PublishError
from bulletin.files import (
    STALE_TEMP_SECONDS,
    atomic_output,
    remove_stale_temp_files,
    write_bytes_atomic,
    write_text_atomic,
)
from bulletin.publish.lock import lock_paths, output_lock
from bulletin.publish.names import render_output_path, slugify
from bulletin.publish.state import RunState, fingerprint, output_key
from bulletin.run.report import RunReport

REPO = Path(__file__).resolve().parents[1]
OLD = b"ID3 old bulletin \x00\x01\x02" * 100


def run_python(code: str) -> subprocess.Popen[str]:
    """Start a Python child that can import bulletin from this checkout."""
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


# --------------------------------------------------------------------------- atomic_output


def kill_when_ready(child: subprocess.Popen, ready: str) -> None:
    """SIGKILL ``child`` once it prints ``ready`` (it is then mid-write or holding a lock)."""
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == ready
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()


def test_atomic_output_replaces_on_success(tmp_path: Path) -> None:
    target = tmp_path / "out" / "b.mp3"  # folder is created
    with atomic_output(target) as temp:
        assert temp.parent == target.parent
        assert temp.name.startswith(".b.mp3.") and temp.name.endswith(".part")
        assert temp.exists()  # already created, empty: ffmpeg needs -y
        temp.write_bytes(b"new")
        assert not target.exists()  # nothing visible until the end
    assert target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o777 == 0o644
    assert leftovers(target.parent) == []


def test_atomic_output_keeps_existing_mode(tmp_path: Path) -> None:
    target = tmp_path / "b.mp3"
    target.write_bytes(OLD)
    target.chmod(0o664)
    write_bytes_atomic(target, b"new")
    assert target.stat().st_mode & 0o777 == 0o664


@pytest.mark.parametrize("exc_type", [RuntimeError, KeyboardInterrupt, SystemExit, PublishError])
def test_atomic_output_keeps_old_file_on_exception(tmp_path: Path, exc_type: type[BaseException]) -> None:
    target = tmp_path / "b.mp3"
    target.write_bytes(OLD)
    before = target.stat()
    with pytest.raises(exc_type), atomic_output(target) as temp:
        temp.write_bytes(b"half a bulle")
        raise exc_type("boom")
    assert target.read_bytes() == OLD
    assert target.stat().st_ino == before.st_ino
    assert leftovers(tmp_path) == []


def test_atomic_output_fails_cleanly_when_temp_vanishes(tmp_path: Path) -> None:
    target = tmp_path / "b.mp3"
    target.write_bytes(OLD)
    with pytest.raises(PublishError), atomic_output(target) as temp:
        temp.unlink()  # e.g. a tool that deletes its output on error
    assert target.read_bytes() == OLD


def test_write_text_atomic(tmp_path: Path) -> None:
    target = tmp_path / "r.txt"
    write_text_atomic(target, "新聞\n")
    assert target.read_bytes() == "新聞\n".encode()


def test_sigkill_mid_write_leaves_old_file_and_next_run_cleans_up(tmp_path: Path) -> None:
    target = tmp_path / "b.mp3"
    target.write_bytes(OLD)
    child = run_python(
        f"""
        import sys, time
        from pathlib import Path
        from bulletin.files import atomic_output
        with atomic_output(Path({str(target)!r})) as temp:
            with open(temp, "wb") as f:
                f.write(b"partial" * 1000)
                f.flush()
                print("writing", flush=True)
                time.sleep(60)
        """
    )
    kill_when_ready(child, "writing")
    assert target.read_bytes() == OLD
    (stray,) = leftovers(tmp_path)
    # a fresh stray file may belong to a live writer: it is kept
    assert remove_stale_temp_files(target) == 0
    old = time.time() - STALE_TEMP_SECONDS - 60
    os.utime(tmp_path / stray, (old, old))
    write_bytes_atomic(target, b"next run")
    assert target.read_bytes() == b"next run"
    assert leftovers(tmp_path) == []


def test_stale_cleanup_only_touches_our_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "b.mp3"
    others = [tmp_path / ".c.mp3.x.part", tmp_path / "b.mp3.part", tmp_path / ".b.mp3.x.txt"]
    for p in others:
        p.write_text("x")
        os.utime(p, (0, 0))
    assert remove_stale_temp_files(target) == 0
    assert all(p.exists() for p in others)


# --------------------------------------------------------------------------- lock

HOLDER = """
    import sys
    from pathlib import Path
    from bulletin.publish.lock import output_lock
    with output_lock(Path({path!r}), timeout=5):
        print("locked", flush=True)
        sys.stdin.readline()
"""


def test_second_holder_times_out_with_busy_error_naming_the_holder(tmp_path: Path) -> None:
    target = tmp_path / "b.mp3"
    child = run_python(HOLDER.format(path=str(target)))
    try:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "locked"
        for timeout in (0, 0.2):
            started = time.monotonic()
            with pytest.raises(BusyError) as info, output_lock(target, timeout=timeout):
                pytest.fail("got a lock that is held")
            assert time.monotonic() - started < timeout + 2
            message = str(info.value)
            assert f"pid {child.pid}" in message
            assert socket.gethostname() in message
            assert str(target) in message
            assert "since " in message
            assert info.value.exit_code == 75
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.wait(10) == 0
    finally:
        if child.poll() is None:
            child.kill()
    with output_lock(target, timeout=0) as lock_file:  # free again
        assert lock_file == lock_paths(target)[0]
        assert lock_paths(target)[1].exists()
    assert not lock_paths(target)[1].exists()


def test_lock_released_by_kernel_when_holder_is_killed(tmp_path: Path) -> None:
    target = tmp_path / "b.mp3"
    child = run_python(HOLDER.format(path=str(target)))
    kill_when_ready(child, "locked")
    with output_lock(target, timeout=0):
        pass


def test_lock_files_are_hidden_next_to_output(tmp_path: Path) -> None:
    lock, info = lock_paths(tmp_path / "b.mp3")
    assert lock == tmp_path / ".b.mp3.lock"
    assert info.parent == tmp_path and info.name.startswith(".")


# --------------------------------------------------------------------------- templates

WHEN = datetime(2024, 5, 1, 12, 0, 3)


def render(template: str, title: str = "六邊會談明天在北京召開") -> Path:
    return render_output_path(template, when=WHEN, title=title, voice="zh-CN-XiaoxiaoNeural", engine="edge")


def test_default_style_template() -> None:
    assert render("out/{date:%Y%m%d-%H%M}-{slug}.mp3") == Path("out/20240501-1200-六邊會談明天在北京召開.mp3")


def test_template_fields() -> None:
    assert render("{time:%H%M%S}_{voice}_{engine}.mp3") == Path("120003_zh-CN-XiaoxiaoNeural_edge.mp3")
    assert render("{date}.mp3") == Path("2024-05-01 12:00:03.mp3")
    assert render("{date:%Y}/{date:%m}/{slug}.mp3") == Path("2024/05/六邊會談明天在北京召開.mp3")
    assert render("plain/name.mp3") == Path("plain/name.mp3")
    assert render("{{literal}}.mp3") == Path("{literal}.mp3")


@pytest.mark.parametrize(
    ("template", "needle"),
    [
        ("out/{title}.mp3", "unknown field {title}"),
        ("out/{date.year}.mp3", "unknown field {date.year}"),
        ("out/{slug[0]}.mp3", "unknown field"),
        ("out/{}.mp3", "unknown field {}"),
        ("out/{0}.mp3", "unknown field {0}"),
        ("out/{date.mp3", "bad output template"),
        ("out/}.mp3", "bad output template"),
        ("out/{slug:%Y}.mp3", "bad output template"),
        ("out/", "does not name a file"),
        ("out/{date!r}.mp3", "no !conversions"),
        ("out/{date:{slug}}.mp3", "nested"),
    ],
)
def test_bad_templates(template: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        render(template)
    assert needle in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("六邊會談明天在北京召開", "六邊會談明天在北京召開"),
        ("六邊會談：明天在北京召開！", "六邊會談-明天在北京召開"),
        ("  Beijing Summit / 2024  ", "beijing-summit-2024"),
        ("../../etc/passwd", "etc-passwd"),
        (".hidden", "hidden"),
        ("a\x00b\nc\u200bd", "a-b-cd"),
        ("ＡＢＣ１２３", "abc123"),
        ("", "bulletin"),
        ("。。。！", "bulletin"),
    ],
)
def test_slugify(title: str, slug: str) -> None:
    assert slugify(title) == slug


def test_slug_is_limited() -> None:
    slug = slugify("新" * 200)
    assert len(slug) == 60
    assert len(slug.encode("utf-8")) < 255
    assert slugify("ab " * 40).endswith(("a", "b"))


def test_voice_and_engine_cannot_escape_the_folder() -> None:
    path = render_output_path("out/{voice}-{engine}.mp3", when=WHEN, title="x", voice="../x/y", engine="a\nb")
    assert path.parent == Path("out")


# --------------------------------------------------------------------------- skip-unchanged


def test_state_dir_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BULLETIN_STATE_DIR", str(tmp_path))
    assert dirs().state == tmp_path


def test_fingerprint_is_stable_and_sensitive() -> None:
    settings = {"voice": "zh-CN-XiaoxiaoNeural", "rate": "+0%", "loudness": -16.0}
    fp = fingerprint("新聞", settings)
    assert fp == fingerprint("新聞", dict(reversed(list(settings.items()))))
    assert fp != fingerprint("新聞。", settings)
    assert fp != fingerprint("新聞", {**settings, "rate": "+5%"})
    assert RunState.fingerprint("新聞", settings) == fp


def test_output_key_uses_the_template_not_the_rendered_name(tmp_path: Path) -> None:
    key = output_key("out/{date:%H%M}-{slug}.mp3", cwd=tmp_path)
    assert key == str(tmp_path / "out" / "{date:%H%M}-{slug}.mp3")
    assert output_key("out/{date:%H%M}-{slug}.mp3", cwd=tmp_path / "other") != key


def test_unchanged_logic(tmp_path: Path) -> None:
    state = RunState(tmp_path / "state")
    key = output_key("out/{date:%H%M}.mp3", cwd=tmp_path)
    fp = fingerprint("新聞", {"voice": "a"})
    assert state.last_success(key) is None
    assert state.unchanged(key, fp) is None

    first = tmp_path / "out" / "1200.mp3"
    write_bytes_atomic(first, b"audio one")
    record = state.record_success(key, fp, first, {"duration": 12.5})
    assert record["size"] == 9
    assert state.last_success(key)["extra"] == {"duration": 12.5}
    assert state.unchanged(key, fp) is not None  # same text, output still there
    assert state.unchanged(key, fingerprint("新聞。", {"voice": "a"})) is None  # text changed

    first.write_bytes(b"audio 0ne")  # same size, other content
    assert state.unchanged(key, fp) is None
    first.write_bytes(b"audio one")
    assert state.unchanged(key, fp) is not None
    first.unlink()  # deleted output is rebuilt
    assert state.unchanged(key, fp) is None


def test_corrupt_state_is_no_record(tmp_path: Path) -> None:
    state = RunState(tmp_path)
    key = "k"
    out = tmp_path / "o.mp3"
    out.write_bytes(b"x")
    state.record_success(key, "fp", out)
    (record_file,) = (tmp_path / "runs").glob("*.json")
    record_file.write_text("{not json")
    assert state.last_success(key) is None
    assert state.unchanged(key, "fp") is None


# --------------------------------------------------------------------------- report


def test_report_writable_at_any_point(tmp_path: Path) -> None:
    import json

    report = RunReport()
    report.write(tmp_path / "r" / "empty.json")  # before anything happened
    data = json.loads((tmp_path / "r" / "empty.json").read_text(encoding="utf-8"))
    assert data["exit_status"] is None and data["errors"] == []

    with pytest.raises(RuntimeError), report.stage("synthesize"):
        raise RuntimeError("x")
    report.fail("語音合成失敗：第 3 段")
    report.output.path = tmp_path / "o.mp3"  # a Path is fine
    report.finish(1)
    report.write(tmp_path / "r" / "failed.json")
    text = (tmp_path / "r" / "failed.json").read_text(encoding="utf-8")
    assert "語音合成失敗" in text  # ensure_ascii=False
    data = json.loads(text)
    assert data["exit_status"] == 1
    assert "synthesize" in data["durations"]
    assert data["output"]["path"] == str(tmp_path / "o.mp3")
    assert data["finished"] is not None
