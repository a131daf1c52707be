"""Shared fixtures: the sample article and small real-looking news texts."""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "six-party-talks.txt"

#: A Simplified Chinese wire story (invented, news-like), two paragraphs.
SIMPLIFIED = (
    "国家统计局15日发布数据，2024年3月全国居民消费价格同比上涨0.1%。\n"
    "\n"
    "　　分析人士认为，随着春节因素消退，食品价格回落，预计二季度物价将保持温和。\n"
)

#: A Traditional Chinese story, hard-wrapped every 16 characters, with a number cut in two.
TRADITIONAL = "颱風凱米預計明天中午登陸，中央氣象\n署表示，最大風速每秒5\n1公尺。民眾應做好防颱準備。\n"


@pytest.fixture
def edge(monkeypatch, tmp_path, request):
    """A fake Edge server (0.05 s of audio a character) the CLI is pointed at, and a private
    cache and state folder, so runs neither share chunks nor skip as "unchanged".

    Bulletins are encoded without the loudness passes (test_assemble.py tests those, on the
    real encoded file), unless a test is marked ``loudness``.
    """

    if request.node.get_closest_marker("loudness") is None:
        import functools

        from bulletin.audio.settings import EncodeOptions

        monkeypatch.setattr("bulletin.cli.EncodeOptions", functools.partial(EncodeOptions, normalize=False))

    with pointed_at_fake_edge(monkeypatch, tmp_path, seconds_per_char=0.05) as server:
        yield server


@contextlib.contextmanager
def pointed_at_fake_edge(monkeypatch, folder: Path, *, seconds_per_char: float):
    """A fake Edge server the CLI is pointed at, with cache and state folders under ``folder``."""
    from fake_edge import FakeEdgeServer

    with FakeEdgeServer(seconds_per_char=seconds_per_char) as server:
        monkeypatch.setenv("BULLETIN_EDGE_WSS_URL", server.wss_url)
        monkeypatch.setenv("BULLETIN_EDGE_VOICES_URL", server.voices_url)
        monkeypatch.setenv("BULLETIN_CACHE_DIR", str(folder / "cache"))
        monkeypatch.setenv("BULLETIN_STATE_DIR", str(folder / "state"))
        yield server


def run_cli(*args: str, input: bytes | None = None):
    """Invoke the CLI in-process, as ``bulletin ARGS...``."""
    from click.testing import CliRunner

    from bulletin.cli import main

    return CliRunner().invoke(main, list(args), input=input, prog_name="bulletin")


@pytest.fixture
def sample() -> Path:
    return SAMPLE


@pytest.fixture
def sample_text() -> str:
    return SAMPLE.read_text(encoding="utf-8")


# ---- the real offline voices, one build each, shared by the tests that look at it -------------

#: The sample's first three sentences: several chunks, cues and a number, and seconds (not
#: minutes) of speech for a real model.
STORY = "。".join(SAMPLE.read_text(encoding="utf-8").split("。")[:3]) + "。"
#: An Edge endpoint where nothing listens: ``--engine auto`` falls back to the offline voice.
EDGE_DOWN = "ws://127.0.0.1:9/edge/v1?TrustedClientToken=x"


@dataclasses.dataclass(frozen=True)
class Built:
    """One CLI build and what it left: the MP3, its subtitles, its report and its messages."""

    folder: Path  # holds story.txt, the outputs and the build's cache/ and state/
    exit_code: int
    stderr: str
    mp3: Path
    srt: Path
    report: dict[str, object]


def build_story(folder: Path, *args: str, loudness: bool = True, edge_down: bool = False) -> Built:
    """``bulletin build STORY ARGS`` through the CLI, with private cache and state folders."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    story = folder / "story.txt"
    story.write_text(STORY, encoding="utf-8")
    mp3, srt, report = folder / "b.mp3", folder / "b.srt", folder / "r.json"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BULLETIN_CACHE_DIR", str(folder / "cache"))
        mp.setenv("BULLETIN_STATE_DIR", str(folder / "state"))
        if edge_down:
            mp.setenv("BULLETIN_EDGE_WSS_URL", EDGE_DOWN)
        if not loudness:
            import functools

            from bulletin.audio.settings import EncodeOptions

            mp.setattr(
                "bulletin.run.options.EncodeOptions", functools.partial(EncodeOptions, normalize=False)
            )
        result = run_cli(
            "build", str(story), *args, "-o", str(mp3), "--subtitles", str(srt), "--report", str(report)
        )
    data = json.loads(report.read_text(encoding="utf-8")) if report.exists() else {}
    return Built(folder, result.exit_code, result.stderr, mp3, srt, data)


@pytest.fixture(scope="session")
def baker_build(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The story read by the real Baker model (installed on first use), without loudness passes."""
    return build_story(
        tmp_path_factory.mktemp("baker"), "--engine", "offline", "--voice", "baker", loudness=False
    )


@pytest.fixture(scope="session")
def fallback_build(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The story with Edge unreachable and no voice named: the default Kokoro voice, zm_yunxi."""
    return build_story(tmp_path_factory.mktemp("fallback"), edge_down=True)
