"""The Edge engine, end to end through the real edge-tts client against a local fake service.

Nothing here mocks edge-tts or the network: :mod:`fake_edge` speaks the service's
WebSocket protocol on 127.0.0.1, and the engine finds it through
``BULLETIN_EDGE_WSS_URL``/``BULLETIN_EDGE_VOICES_URL`` exactly as a user behind a gateway
would. Backoff and timeouts are shrunk through the constructor so faults cost
milliseconds; pytest-timeout guards the "fails within a bounded time" tests.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import edge_tts.communicate
import edge_tts.voices
import pytest
from edge_tts.drm import DRM

sys.path.insert(0, str(Path(__file__).parent))

from fake_edge import FAULTS, FakeEdgeServer, tone_mp3

from bulletin import engines
from bulletin.engines.base import Clip, Engine, VoiceSettings
from bulletin.engines.edge.engine import (
    BOUNDARY_SLACK,
    MAX_CHUNK_CHARS,
    EdgeEngine,
    mp3_duration,
    validate_prosody,
)
from bulletin.errors import ConfigError, EngineUnavailable, SynthesisError

VOICE = VoiceSettings(engine="edge", voice="zh-CN-XiaoxiaoNeural")
# Different lengths, so each chunk's audio is recognisably its own.
TEXTS = [
    "六方会谈明天在北京召开。",
    "北韩表示愿意完全放弃核计划！",
    "美国也透露将在会谈中展现更多善意，各方代表陆续抵达。",
    "你好。",
    "代表南韩参加六边会谈的外交通商次长李秀赫上午抵达北京后，立刻和中方代表进行会谈。",
]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeEdgeServer]:
    with FakeEdgeServer() as srv:
        yield srv


@pytest.fixture
def srv(server: FakeEdgeServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEdgeServer]:
    """The shared server, reset, with the engine pointed at it and the clock skew at 0."""
    server.reset()
    monkeypatch.setenv("BULLETIN_EDGE_WSS_URL", server.wss_url)
    monkeypatch.setenv("BULLETIN_EDGE_VOICES_URL", server.voices_url)
    monkeypatch.setattr(DRM, "clock_skew_seconds", 0.0)
    yield server
    server.set_fault(None)


def fast_engine(**kw: object) -> EdgeEngine:
    """An engine with test-sized backoff (the defaults are for the internet).

    The request deadline stays long: a test that needs one to pass (a stalled server) sets
    its own. A 1 s deadline made the first batch of a busy test machine time out (the fake
    server encodes each new text's MP3 then) and be retried: a retry the test did not ask for.
    """
    args: dict[str, object] = {
        "backoff_base": 0.01,
        "backoff_max": 0.05,
        "timeout_base": 10.0,
        "timeout_per_char": 0.01,
        "connect_timeout": 5,
    }
    args.update(kw)
    return EdgeEngine(**args)  # type: ignore[arg-type]


def total(clips: list[Clip]) -> tuple[int, float]:
    return sum(len(c.data) for c in clips), round(sum(mp3_duration(c.data) for c in clips), 3)


# ---- the happy path ------------------------------------------------------------------------


def test_is_an_engine() -> None:
    engine = EdgeEngine()
    assert isinstance(engine, Engine)
    assert engine.name == "edge"
    assert engine.version(VOICE).startswith("edge-tts-7.")
    assert MAX_CHUNK_CHARS == EdgeEngine.max_chunk_chars == 300


def test_one_request_per_chunk_in_order(srv: FakeEdgeServer) -> None:
    seen: list[int] = []
    clips = fast_engine(boundary="SentenceBoundary").synthesize(
        TEXTS, VOICE, on_clip=lambda i, c: seen.append(i)
    )
    assert srv.requests == len(TEXTS)
    assert sorted(srv.texts) == sorted(TEXTS)
    assert sorted(seen) == list(range(len(TEXTS)))
    for text, clip in zip(TEXTS, clips, strict=True):
        assert clip.format == "mp3"
        assert clip.retries == 0
        # Each clip has its own text's length (0.2 s a character, plus MP3 padding).
        assert srv.seconds_for(text) <= mp3_duration(clip.data) < srv.seconds_for(text) + 0.15
        assert clip.boundaries and clip.boundaries[0].kind == "sentence"
        assert "".join(b.text for b in clip.boundaries) == text
        assert clip.boundaries[-1].offset + clip.boundaries[-1].duration == pytest.approx(
            srv.seconds_for(text)
        )


def test_word_boundaries_by_default(srv: FakeEdgeServer) -> None:
    (clip,) = fast_engine().synthesize(["你好世界，A&B 3.5%。"], VOICE)
    assert '"wordBoundaryEnabled":"true"' in srv.state.configs[-1]
    assert [b.text for b in clip.boundaries] == ["你好", "世界", "A", "B", "3.5%"]
    assert all(b.kind == "word" for b in clip.boundaries)
    assert clip.boundaries[1].offset == pytest.approx(0.4)
    assert EdgeEngine().version(VOICE) != EdgeEngine(boundary="SentenceBoundary").version(VOICE)


def test_concurrency_is_bounded(srv: FakeEdgeServer) -> None:
    srv.latency = 0.15
    try:
        fast_engine(concurrency=3).synthesize([f"第{i}条消息。" for i in range(9)], VOICE)
    finally:
        srv.latency = 0.0
    assert srv.requests == 9
    assert 2 <= srv.max_in_flight <= 3


def test_endpoint_globals_restored_and_query_added(
    srv: FakeEdgeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = (edge_tts.communicate.WSS_URL, edge_tts.voices.VOICE_LIST)
    monkeypatch.setenv("BULLETIN_EDGE_WSS_URL", srv.wss_url.split("?")[0])  # no ?query
    fast_engine().synthesize(["你好。"], VOICE)
    assert srv.requests == 1
    assert before == (edge_tts.communicate.WSS_URL, edge_tts.voices.VOICE_LIST)


def test_loopback_bypasses_proxy_variables(srv: FakeEdgeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(var, "http://127.0.0.9:9")  # nothing listens there
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    fast_engine().synthesize(["你好。"], VOICE)
    assert srv.requests == 1
    assert "127.0.0.1" in os.environ["NO_PROXY"] and "localhost" in os.environ["no_proxy"]


def test_ssml_markup_in_text_is_escaped(srv: FakeEdgeServer) -> None:
    text = "他说<speak>你好</voice></prosody>&amp;再见<break time='5s'/>。"
    fast_engine().synthesize([text], VOICE)
    # The fake parses the SSML as XML: the markup arrived as character data, not structure.
    assert srv.texts == [text]
    (ssml,) = srv.ssml
    assert ssml.count("<speak") == 1 and ssml.count("</voice>") == 1
    assert "&lt;speak&gt;" in ssml and "&amp;amp;" in ssml


# ---- transient faults are recovered ---------------------------------------------------------


@pytest.fixture(scope="module")
def baseline(server: FakeEdgeServer) -> tuple[int, float]:
    """Total bytes and seconds of a fault-free run of TEXTS."""
    server.reset()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BULLETIN_EDGE_WSS_URL", server.wss_url)
        return total(fast_engine().synthesize(TEXTS, VOICE))


@pytest.mark.parametrize("fault", [f for f in FAULTS if f not in ("short_audio", "endless_audio")])
def test_transient_fault_recovered(srv: FakeEdgeServer, baseline: tuple[int, float], fault: str) -> None:
    srv.set_fault(fault, times=2)
    clips = fast_engine(timeout_base=0.5).synthesize(TEXTS, VOICE)
    assert total(clips) == baseline
    if fault == "http_403":
        # edge-tts itself retries a 403 once after a clock-skew fix; we retry the second.
        assert srv.handshakes >= len(TEXTS) + 2
        assert abs(DRM.clock_skew_seconds) < 2  # the server's clock is right: no big "fix"
    else:
        assert sum(c.retries for c in clips) == 2
        assert srv.requests >= len(TEXTS)


def test_first_n_fail_then_succeed(srv: FakeEdgeServer) -> None:
    srv.set_fault("close_mid_stream", times=3)
    (clip,) = fast_engine(max_attempts=4).synthesize(["北韩表示愿意完全放弃核计划。"], VOICE)
    assert clip.retries == 3 and srv.requests == 4
    assert all("turn.end" in c for c in clip.meta["causes"])  # type: ignore[union-attr]


def test_short_audio_with_turn_end_caught_by_text_length(srv: FakeEdgeServer) -> None:
    """A complete turn with far too little audio for the text (and no boundaries to compare)."""
    text = TEXTS[4]  # 39 characters: ~8 s of speech; the fault sends one 4 KB frame (0.7 s)
    srv.set_fault("short_audio", times=1)
    (clip,) = fast_engine().synthesize([text], VOICE)
    assert clip.retries == 1 and "too short" in clip.meta["causes"][0]  # type: ignore[index]
    assert mp3_duration(clip.data) >= srv.seconds_for(text)


def test_truncation_caught_without_turn_end_counters(
    srv: FakeEdgeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If a future edge-tts drops its byte counters, the duration checks still catch a cut.

    Why it was flaky: the two faults go to whichever requests reach the server first, and
    你好。 (0.4 s, one 4 KB frame) was not cut at all when it got one ("half the frames"
    of one frame is that frame: now the fake cuts bytes), and even cut in half it loses
    less than :data:`BOUNDARY_SLACK`, which no duration check can tell from rounding. So
    the texts are those that lose well over the slack, whichever of them is cut.
    """
    texts = [t for t in TEXTS if srv.seconds_for(t) / 2 > 2 * BOUNDARY_SLACK]
    assert len(texts) == len(TEXTS) - 1  # all but 你好。
    monkeypatch.setattr(EdgeEngine, "_check_complete", staticmethod(lambda comm, data: None))
    srv.set_fault("close_mid_stream", times=2)
    clips = fast_engine().synthesize(texts, VOICE)
    assert sum(c.retries for c in clips) == 2
    assert all(mp3_duration(c.data) >= srv.seconds_for(t) for c, t in zip(clips, texts, strict=True))
    assert all("truncated" in cause for c in clips for cause in c.meta["causes"])  # type: ignore[union-attr]


# ---- permanent faults fail, naming the chunk, in bounded time --------------------------------


@pytest.mark.timeout(30)
@pytest.mark.parametrize("fault", ["no_audio", "close_mid_stream", "tcp_cut", "stall", "http_500"])
def test_permanent_fault_raises_naming_chunk(srv: FakeEdgeServer, fault: str) -> None:
    srv.set_fault(fault, times=None)
    with pytest.raises(SynthesisError) as info:
        fast_engine(timeout_base=0.3).synthesize(TEXTS, VOICE)
    assert info.value.chunk in range(len(TEXTS))
    assert f"chunk {info.value.chunk} failed after 4 attempts" in str(info.value)
    assert "Sec-MS-GEC" not in str(info.value)  # no token-bearing URLs in user messages


@pytest.mark.timeout(30)
def test_permanent_403_leaves_no_bogus_clock_skew(srv: FakeEdgeServer) -> None:
    srv.date_skew = 7200.0  # a broken gateway: 403 with a Date two hours off
    srv.set_fault("http_403", times=None)
    try:
        with pytest.raises(SynthesisError, match="HTTP 403"):
            fast_engine().synthesize(TEXTS[:2], VOICE)
    finally:
        srv.date_skew = 0.0
    assert DRM.clock_skew_seconds == 0.0


@pytest.mark.timeout(30)
def test_client_error_is_not_retried(srv: FakeEdgeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BULLETIN_EDGE_WSS_URL", srv.wss_url.replace("/edge/v1", "/nowhere"))
    with pytest.raises(SynthesisError, match="HTTP 404") as info:
        fast_engine(concurrency=1).synthesize(["你好。"], VOICE)
    assert info.value.chunk == 0


@pytest.mark.timeout(30)
def test_unreachable_host_fails_in_bounded_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BULLETIN_EDGE_WSS_URL", f"ws://127.0.0.1:{free_port()}/edge/v1?x=1")
    with pytest.raises(SynthesisError, match="cannot connect") as info:
        fast_engine().synthesize(["你好。"], VOICE)
    assert info.value.chunk == 0


# ---- settings are checked before any request --------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("rate", "10%"),
        ("rate", "+10"),
        ("rate", "fast"),
        ("rate", "+500%"),
        ("rate", "-80%"),
        ("volume", "+5Hz"),
        ("volume", "+101%"),
        ("pitch", "+2%"),
        ("pitch", "+1000Hz"),
        ("voice", "Xiaoxiao"),
        ("voice", "zh-CN-Xiao'xiao<Neural"),
        ("engine", "offline"),
    ],
)
def test_bad_settings_rejected_before_any_request(srv: FakeEdgeServer, field: str, value: str) -> None:
    bad = VoiceSettings(**{**VOICE.__dict__, field: value})
    with pytest.raises(ConfigError, match=field):
        validate_prosody(bad)
    with pytest.raises(ConfigError):
        fast_engine().synthesize(TEXTS, bad)
    assert srv.handshakes == 0 and srv.requests == 0


@pytest.mark.parametrize(
    "voice",
    [
        "zh-CN-YunyangNeural",
        "zh-CN-liaoning-XiaobeiNeural",
        "zh-HK-HiuGaaiNeural",
        "en-US-AvaMultilingualNeural",
    ],
)
def test_good_settings_accepted(voice: str) -> None:
    validate_prosody(VoiceSettings("edge", voice, rate="+10%", volume="-5%", pitch="+2Hz"))


def test_empty_text_rejected_before_any_request(srv: FakeEdgeServer) -> None:
    with pytest.raises(ConfigError, match="chunk 1"):
        fast_engine().synthesize(["你好。", "  "], VOICE)
    assert srv.handshakes == 0


def test_bad_endpoint_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BULLETIN_EDGE_WSS_URL", "http://example.com/edge")
    with pytest.raises(ConfigError, match="BULLETIN_EDGE_WSS_URL"):
        EdgeEngine()


# ---- probe and voices ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_probe_ok(srv: FakeEdgeServer) -> None:
    ok, reason = EdgeEngine().probe(timeout=3)
    assert ok, reason
    assert srv.requests == 0  # a handshake only, no synthesis


def test_probe_connection_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BULLETIN_EDGE_WSS_URL", f"ws://127.0.0.1:{free_port()}/edge/v1?x=1")
    ok, reason = EdgeEngine().probe(timeout=2)
    assert not ok
    assert reason.startswith("edge: wss host") and "unreachable (connection refused)" in reason


@pytest.mark.timeout(10)
def test_probe_silent_host_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as listener:  # accepts TCP (backlog), never answers HTTP
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        monkeypatch.setenv("BULLETIN_EDGE_WSS_URL", f"ws://127.0.0.1:{port}/edge/v1?x=1")
        ok, reason = EdgeEngine().probe(timeout=0.5)
    assert not ok and "no answer" in reason


def test_probe_server_error_still_answers(srv: FakeEdgeServer) -> None:
    """A 5xx is the host answering: synthesis retries it, so auto should not give up on Edge."""
    srv.set_fault("http_500", times=None)
    ok, reason = EdgeEngine().probe(timeout=3)
    assert ok and "HTTP 500" in reason


def test_probe_403_answers_without_touching_skew(srv: FakeEdgeServer) -> None:
    srv.date_skew = 3600.0
    srv.set_fault("http_403", times=1)
    try:
        ok, reason = EdgeEngine().probe(timeout=3)
    finally:
        srv.date_skew = 0.0
    assert ok, reason
    assert DRM.clock_skew_seconds == 0.0


def test_probe_wrong_path_is_down(srv: FakeEdgeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BULLETIN_EDGE_WSS_URL", srv.wss_url.replace("/edge/v1", "/nowhere"))
    ok, reason = EdgeEngine().probe(timeout=3)
    assert not ok and "refused the handshake (HTTP 404)" in reason


def test_list_voices(srv: FakeEdgeServer) -> None:
    voices = EdgeEngine().list_voices()
    names = [v["ShortName"] for v in voices]
    assert names == sorted(names) and "zh-CN-XiaoxiaoNeural" in names and "zh-TW-HsiaoChenNeural" in names
    assert all(str(v["Locale"]).startswith("zh-") for v in voices)
    assert {"ShortName", "Locale", "Gender", "FriendlyName"} <= set(voices[0])
    assert any(str(v["Locale"]).startswith("en-") for v in EdgeEngine().list_voices(""))
    assert engines.edge_voices() == voices  # the public shortcut the CLI uses


def test_list_voices_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BULLETIN_EDGE_VOICES_URL", f"http://127.0.0.1:{free_port()}/voices/list")
    with pytest.raises(EngineUnavailable, match="cannot list voices"):
        EdgeEngine().list_voices(timeout=3)


# ---- measuring MP3 --------------------------------------------------------------------------


def test_mp3_duration_counts_whole_frames_only() -> None:
    mp3 = tone_mp3(2.0)
    assert 2.0 <= mp3_duration(mp3) < 2.1
    assert mp3_duration(mp3[: len(mp3) // 2]) == pytest.approx(mp3_duration(mp3) / 2, abs=0.05)
    assert mp3_duration(b"junk" + mp3) == pytest.approx(mp3_duration(mp3))
    assert mp3_duration(b"\x00" * 1000) == 0.0
