"""The Kokoro voices through the CLI: the default voice as Edge's fallback, and another voice.

Beside test_kokoro.py (the engine, its store and frontend) so that pytest-xdist, which gives
each worker whole files, runs the two files' model work on both cores. The zm_yunxi build is
conftest's ``fallback_build``: made once, looked at by every test here that names it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import EDGE_DOWN, FIRST_SENTENCE, run_cli
from mp3_duration import probe_duration


@pytest.mark.slow
def test_the_default_kokoro_voice_through_the_cli(fallback_build) -> None:
    """conftest's build: Edge unreachable, no voice named, so zm_yunxi."""
    assert fallback_build.exit_code == 0, fallback_build.stderr
    assert "voice: zm_yunxi" in fallback_build.stderr
    assert probe_duration(fallback_build.mp3) > 0.18 * len(FIRST_SENTENCE)  # all of it said
    cues = fallback_build.srt.read_text(encoding="utf-8")
    assert "國際高度關注" in cues and "明天將在北京召開" in cues  # all of it subtitled (timing: below)


@pytest.mark.slow
def test_another_kokoro_voice_through_the_cli(kokoro_base: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("BULLETIN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("BULLETIN_STATE_DIR", str(tmp_path / "state"))
    article = tmp_path / "a.txt"
    article.write_text("颱風凱米預計明天中午登陸。\n", encoding="utf-8")
    out, srt = tmp_path / "a.mp3", tmp_path / "a.srt"
    result = run_cli("build", str(article), "--engine", "offline", "--voice", "zf_xiaoxiao", "-o", str(out),
                     "--subtitles", str(srt))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "voice: zf_xiaoxiao" in result.output
    assert 1.8 < probe_duration(out) < 8.0
    cues = srt.read_text(encoding="utf-8")
    assert "颱風凱米" in cues and "-->" in cues  # subtitles timed by the pieces' boundaries


@pytest.mark.slow
def test_auto_falls_back_to_the_offline_voice_and_says_why(fallback_build):
    """The story with Edge unreachable and no voice named (the shared build, see conftest)."""
    story = str(fallback_build.folder / "story.txt")
    estimated = json.loads(run_cli("build", story, "--dry-run", "--json", "--engine", "offline").stdout)
    assert fallback_build.exit_code == 0, fallback_build.stderr
    assert "engine: offline (Edge is unreachable" in fallback_build.stderr
    assert "voice: zm_yunxi" in fallback_build.stderr  # no voice was named: the default offline voice
    seconds = probe_duration(fallback_build.mp3)
    assert 0.6 * estimated["estimated_seconds"] < seconds < 1.6 * estimated["estimated_seconds"]
    data = fallback_build.report
    assert data["engine_used"] == "offline" and "unreachable" in data["fallback_reason"]
    assert data["loudness"]["integrated_lufs"] == pytest.approx(-16, abs=1)
    assert 1 <= data["loudness"]["encodes"] <= 3  # what meeting the targets took (the report says)


@pytest.mark.slow
def test_corrupt_cache_entry_with_edge_down_falls_back_to_offline(
    edge, tmp_path, monkeypatch, fallback_build
):
    article = tmp_path / "story.txt"
    shutil.copy(fallback_build.folder / "story.txt", article)
    assert run_cli("build", str(article), "-o", str(tmp_path / "a.mp3")).exit_code == 0
    clips = sorted((tmp_path / "cache").rglob("*.clip"))
    for clip in clips:
        clip.write_bytes(b"garbage")
    # the offline voice's clips of this story, made once for the suite (conftest): what is
    # tested here is the way to them, not the model
    shutil.copytree(fallback_build.folder / "cache", tmp_path / "cache", dirs_exist_ok=True)
    monkeypatch.setenv("BULLETIN_EDGE_WSS_URL", EDGE_DOWN)
    result = run_cli("build", str(article), "-o", str(tmp_path / "b.mp3"), "--force")
    assert result.exit_code == 0, result.output
    assert "offline voice instead" in result.stderr
    result = run_cli("build", str(article), "--engine", "edge", "-o", str(tmp_path / "c.mp3"), "--no-cache")
    assert result.exit_code == 75
