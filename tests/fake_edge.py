"""A local fake of the Microsoft Edge read-aloud service, speaking the real edge-tts protocol.

Why it exists: the real service is on the internet, which tests and benchmarks must not
depend on, and mocking edge-tts would test nothing. So this server sits on 127.0.0.1
and the *unmodified* edge-tts client talks to it over a real socket, exactly as it talks
to ``speech.platform.bing.com``:

* the client opens a WebSocket (``/edge/v1?...``), sends a ``Path:speech.config`` text
  message and a ``Path:ssml`` text message holding the SSML;
* the server answers ``Path:turn.start``, ``Path:audio.metadata`` (one boundary per
  message, ``Offset``/``Duration`` in 100 ns ticks, as edge-tts's ``__parse_metadata``
  expects; sentence boundaries, or words when the client's ``speech.config`` enables
  ``wordBoundaryEnabled``, as edge-tts does for ``boundary="WordBoundary"``: see
  :func:`words`), binary ``Path:audio`` frames (2-byte big-endian header length, headers
  ending in ``\\r\\n``, then MP3 bytes) in several pieces, a final empty audio frame
  without Content-Type (as the real service does), then ``Path:turn.end``;
* ``GET /voices/list`` serves a voice list with the real fields.

The audio is real MP3 (a sine tone, 24 kHz mono 48 kbps CBR like Edge's
``audio-24khz-48kbitrate-mono-mp3``), ``seconds_per_char`` long per spoken character of
the SSML text, so truncation is measurable and each text has its own length; with
``clause_pause`` it falls silent that long after each clause or sentence mark, as a voice
does, and the boundaries are timed accordingly (so timing by them can be told from timing
by character count).

Faults, set with :meth:`FakeEdgeServer.set_fault`, apply to the next ``times`` requests
(``None``: every request, i.e. a permanent failure):

``no_audio``            turn.start + turn.end, no audio (edge-tts raises NoAudioReceived)
``close_before_audio``  turn.start, then a clean WebSocket close
``close_mid_stream``    metadata and half the audio, then a clean close (no turn.end)
``tcp_cut``             metadata and half the audio, then the TCP connection is aborted
``short_audio``         a complete turn (turn.end) but only the first audio frame, no metadata
``stall``               reads the SSML and never answers
``endless_audio``       an hour of audio for any text (a service gone wrong), then turn.end
``http_403``            HTTP 403 on the handshake, with a ``Date`` header (optionally skewed)
``http_500``            HTTP 500 on the handshake

Use it as a context manager; it runs its own event loop in a background thread, so the
code under test can call ``asyncio.run`` freely in the test's thread.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import functools
import json
import math
import re
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from email.utils import formatdate
from types import TracebackType
from typing import Literal, get_args
from xml.sax.saxutils import escape

import lameenc
from aiohttp import WSMsgType, web

Fault = Literal[
    "no_audio",
    "close_before_audio",
    "close_mid_stream",
    "tcp_cut",
    "short_audio",
    "stall",
    "endless_audio",
    "http_403",
    "http_500",
]
FAULTS: tuple[str, ...] = get_args(Fault)
_HANDSHAKE_FAULTS = ("http_403", "http_500")

TICKS_PER_SECOND = 10_000_000
SAMPLE_RATE = 24_000
BITRATE_KBPS = 48

#: A small but realistic voice list (fields as the real endpoint returns them).
VOICES: list[dict[str, object]] = [
    {
        "Name": f"Microsoft Server Speech Text to Speech Voice ({loc}, {name})",
        "ShortName": f"{loc}-{name}",
        "Gender": gender,
        "Locale": loc,
        "SuggestedCodec": "audio-24khz-48kbitrate-mono-mp3",
        "FriendlyName": f"Microsoft {name.removesuffix('Neural')} Online (Natural) - {lang}",
        "Status": "GA",
        "VoiceTag": {"ContentCategories": ["News", "Novel"], "VoicePersonalities": ["Warm"]},
    }
    for loc, name, gender, lang in [
        ("zh-CN", "XiaoxiaoNeural", "Female", "Chinese (Mainland)"),
        ("zh-CN", "YunyangNeural", "Male", "Chinese (Mainland)"),
        ("zh-TW", "HsiaoChenNeural", "Female", "Chinese (Taiwan)"),
        ("zh-HK", "HiuGaaiNeural", "Female", "Chinese (Cantonese, Traditional)"),
        ("en-US", "EmmaMultilingualNeural", "Female", "English (United States)"),
    ]
]

_SPOKEN = re.compile(r"[\w]")  # letters, digits and CJK ideographs count; punctuation/space do not
_SENTENCE_END = re.compile(r"(?<=[。！？!?])")
_PAUSE_MARKS = frozenset("，、：；。！？,;:!?")


_LATIN_WORD = re.compile(r"[A-Za-z0-9]+(?:[.,:'\-][A-Za-z0-9]+)*%?")
_HAN_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")


def words(text: str) -> list[str]:
    """The words the service reports for ``text``, in order, as its WordBoundary events do.

    Like the real service: a Latin word or a number (with its inner marks, ``3.5%``) is
    one word; Chinese is cut into words of one to three characters (here simply pairs,
    a run's odd character joining its last pair, as a stand-in for Microsoft's
    segmenter); punctuation and spaces get no boundary at all.
    """
    out: list[str] = []
    for match in re.finditer(rf"{_LATIN_WORD.pattern}|{_HAN_RUN.pattern}", text):
        word = match.group()
        if _HAN_RUN.fullmatch(word):
            pairs = [word[i : i + 2] for i in range(0, len(word), 2)]
            if len(pairs) > 1 and len(pairs[-1]) == 1:
                pairs[-2:] = [pairs[-2] + pairs[-1]]
            out.extend(pairs)
        else:
            out.append(word)
    return out


def spoken_chars(text: str) -> int:
    """How many characters the fake "speaks" (each one lasts ``seconds_per_char``)."""
    return len(_SPOKEN.findall(text))


@functools.lru_cache(maxsize=256)
def tone_mp3(seconds: float, freq: int = 440) -> bytes:
    """A real MP3 (24 kHz mono 48 kbps CBR) of a sine tone lasting ``seconds``."""
    n = max(1, round(seconds * SAMPLE_RATE))
    second = _tone_second(freq)
    samples = (second * (n // SAMPLE_RATE + 1))[: 2 * n]
    enc = lameenc.Encoder()
    enc.set_bit_rate(BITRATE_KBPS)
    enc.set_in_sample_rate(SAMPLE_RATE)
    enc.set_channels(1)
    enc.set_quality(7)
    return bytes(enc.encode(samples) + enc.flush())


@functools.lru_cache(maxsize=256)
def speech_mp3(runs: tuple[tuple[float, bool], ...], freq: int = 440) -> bytes:
    """A real MP3 of tone (speech) and silence (pauses) runs, each ``(seconds, is speech)``."""
    second = _tone_second(freq)
    pcm = bytearray()
    for seconds, speech in runs:
        n = max(1, round(seconds * SAMPLE_RATE))
        pcm += (second * (n // SAMPLE_RATE + 1))[: 2 * n] if speech else bytes(2 * n)
    enc = lameenc.Encoder()
    enc.set_bit_rate(BITRATE_KBPS)
    enc.set_in_sample_rate(SAMPLE_RATE)
    enc.set_channels(1)
    enc.set_quality(7)
    return bytes(enc.encode(bytes(pcm)) + enc.flush())


@functools.lru_cache(maxsize=64)
def _tone_second(freq: int) -> bytes:
    """One second of 16-bit PCM sine; an integer frequency makes it loop seamlessly."""
    return array.array(
        "h", (int(8000 * math.sin(2 * math.pi * freq * i / SAMPLE_RATE)) for i in range(SAMPLE_RATE))
    ).tobytes()


def _text_frame(path: str, body: str, request_id: str) -> str:
    """A service text message: headers, blank line, JSON body (as the real service frames it)."""
    return (
        f"X-RequestId:{request_id}\r\n"
        "Content-Type:application/json; charset=utf-8\r\n"
        f"Path:{path}\r\n\r\n{body}"
    )


def _audio_frame(data: bytes, request_id: str, *, content_type: bool = True) -> bytes:
    """A service binary message: 2-byte big-endian header length, headers ending \\r\\n, audio."""
    headers = f"X-RequestId:{request_id}\r\n"
    if content_type:
        headers += "Content-Type:audio/mpeg\r\n"
    headers += f"X-StreamId:{request_id.upper()}\r\nPath:audio\r\n"
    raw = headers.encode("ascii")
    return len(raw).to_bytes(2, "big") + raw + data


def ssml_text(ssml: str) -> str:
    """The text a real synthesizer would speak: the character data of the parsed SSML.

    Parsing (rather than regex-stripping) is the point: if the client failed to escape
    ``<speak>`` in the user's text, the markup would show up here as structure, not text.
    """
    root = ET.fromstring(ssml)
    return "".join(root.itertext())


@dataclass
class _State:
    """Everything the tests read back; guarded by ``FakeEdgeServer.lock``."""

    handshakes: int = 0  # WebSocket connection attempts, including refused ones
    requests: int = 0  # SSML synthesis requests received
    texts: list[str] = field(default_factory=list)
    ssml: list[str] = field(default_factory=list)
    configs: list[str] = field(default_factory=list)
    voice_list_requests: int = 0
    in_flight: int = 0  # requests being answered right now
    max_in_flight: int = 0
    fault: str | None = None
    fault_times: int | None = 0  # how many more requests get the fault; None = forever


class FakeEdgeServer:
    """The fake service; ``with FakeEdgeServer() as srv: os.environ[...] = srv.wss_url``."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        seconds_per_char: float = 0.2,
        clause_pause: float = 0.0,
        frame_bytes: int = 4096,
        date_skew: float = 0.0,
    ) -> None:
        """``latency``: seconds before answering each request (the benchmark uses 0.3).

        ``date_skew``: seconds added to the ``Date`` header of a 403, to test that a bogus
        clock-skew correction is not left behind.
        """
        self.latency = latency
        self.seconds_per_char = seconds_per_char
        self.clause_pause = clause_pause
        self.frame_bytes = frame_bytes
        self.date_skew = date_skew
        self.lock = threading.Lock()
        self.state = _State()
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None

    # ---- what tests use ------------------------------------------------------------

    @property
    def wss_url(self) -> str:
        """The endpoint for ``BULLETIN_EDGE_WSS_URL`` (already holds a ``?query``)."""
        return f"ws://127.0.0.1:{self.port}/edge/v1?TrustedClientToken=fake"

    @property
    def voices_url(self) -> str:
        """The endpoint for ``BULLETIN_EDGE_VOICES_URL``."""
        return f"http://127.0.0.1:{self.port}/voices/list?trustedclienttoken=fake"

    @property
    def requests(self) -> int:
        """SSML requests received so far."""
        with self.lock:
            return self.state.requests

    @property
    def handshakes(self) -> int:
        """WebSocket handshakes attempted so far (including refused ones)."""
        with self.lock:
            return self.state.handshakes

    @property
    def max_in_flight(self) -> int:
        """The most requests answered at the same time (checks client concurrency)."""
        with self.lock:
            return self.state.max_in_flight

    @property
    def texts(self) -> list[str]:
        """The spoken texts received, in arrival order."""
        with self.lock:
            return list(self.state.texts)

    @property
    def ssml(self) -> list[str]:
        """The raw SSML documents received, in arrival order."""
        with self.lock:
            return list(self.state.ssml)

    def set_fault(self, fault: str | None, times: int | None = 1) -> None:
        """Make the next ``times`` requests fail with ``fault`` (``times=None``: all of them)."""
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {FAULTS}")
        with self.lock:
            self.state.fault = fault
            self.state.fault_times = times

    def reset(self) -> None:
        """Forget counts, texts and faults."""
        with self.lock:
            self.state = _State()

    def seconds_for(self, text: str) -> float:
        """How long the audio for ``text`` is (before MP3 frame rounding)."""
        return sum(seconds for seconds, _ in self._speech(text))

    # ---- lifecycle -------------------------------------------------------------------

    def __enter__(self) -> FakeEdgeServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start serving on a random loopback port in a background thread."""
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._serve())
            except BaseException as e:  # surfaced to start()'s caller
                errors.append(e)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-edge", daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            raise errors[0]

    def stop(self) -> None:
        """Stop serving; stalled handlers are released so the thread ends promptly."""
        loop = self._loop
        if loop is None or self._thread is None:
            return

        async def shutdown() -> None:
            assert self._stopping is not None and self._runner is not None
            self._stopping.set()
            await self._runner.cleanup()

        fut = asyncio.run_coroutine_threadsafe(shutdown(), loop)
        with contextlib.suppress(Exception):
            fut.result(10)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(10)
        self._loop = None

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        app = web.Application()
        app.router.add_get("/edge/v1", self._ws_handler)
        app.router.add_get("/voices/list", self._voices_handler)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server  # aiohttp exposes the bound port only here
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]

    # ---- handlers --------------------------------------------------------------------

    def _take_fault(self, *, handshake: bool) -> str | None:
        """Consume one use of the current fault if it applies at this stage."""
        with self.lock:
            st = self.state
            if st.fault is None or (st.fault in _HANDSHAKE_FAULTS) != handshake:
                return None
            if st.fault_times is not None:
                if st.fault_times <= 0:
                    return None
                st.fault_times -= 1
            return st.fault

    async def _voices_handler(self, request: web.Request) -> web.Response:
        with self.lock:
            self.state.voice_list_requests += 1
        return web.json_response(VOICES)

    async def _ws_handler(self, request: web.Request) -> web.StreamResponse:
        with self.lock:
            self.state.handshakes += 1
        fault = self._take_fault(handshake=True)
        if fault == "http_403":
            date = formatdate(time.time() + self.date_skew, usegmt=True)
            return web.Response(status=403, text="Forbidden", headers={"Date": date})
        if fault == "http_500":
            return web.Response(status=500, text="Internal Server Error")

        ws = web.WebSocketResponse(compress=True, heartbeat=None)
        try:
            await ws.prepare(request)
        except ConnectionError:  # the client left during the handshake
            return ws
        word_boundary = False  # per connection, from its speech.config
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            head, _, body = msg.data.partition("\r\n\r\n")
            if "Path:speech.config" in head:
                with self.lock:
                    self.state.configs.append(body)
                word_boundary = '"wordBoundaryEnabled":"true"' in body
            elif "Path:ssml" in head:
                with self.lock:
                    self.state.in_flight += 1
                    self.state.max_in_flight = max(self.state.max_in_flight, self.state.in_flight)
                try:
                    await self._answer(ws, request, body, word_boundary)
                except ConnectionError:  # the client gave up (timeout, cancelled run): fine
                    break
                finally:
                    with self.lock:
                        self.state.in_flight -= 1
                if ws.closed:
                    break
        return ws

    async def _answer(
        self, ws: web.WebSocketResponse, request: web.Request, ssml: str, word_boundary: bool
    ) -> None:
        """Answer one SSML request (or fail it, if a fault is set)."""
        text = ssml_text(ssml)
        with self.lock:
            self.state.requests += 1
            self.state.ssml.append(ssml)
            self.state.texts.append(text)
        fault = self._take_fault(handshake=False)
        rid = uuid.uuid4().hex
        if fault == "stall":  # never answer; let the handler end when the client gives up
            async for _ in ws:
                pass
            return
        if self.latency:
            await asyncio.sleep(self.latency)
        await ws.send_str(_text_frame("turn.start", '{"context":{"serviceTag":"fake"}}', rid))
        if fault == "close_before_audio":
            await ws.close()
            return
        if fault == "no_audio" or spoken_chars(text) == 0:
            # as the real service does for text with nothing to say (punctuation only)
            await ws.send_str(_text_frame("turn.end", "{}", rid))
            return

        if fault == "endless_audio":
            await self._endless(ws, rid)
            return
        seconds = self.seconds_for(text)
        for meta in [] if fault == "short_audio" else self._boundaries(text, word_boundary):
            await ws.send_str(_text_frame("audio.metadata", json.dumps({"Metadata": [meta]}), rid))
        freq = 300 + 10 * (spoken_chars(text) % 40)
        runs = self._speech(text)
        mp3 = tone_mp3(round(seconds, 3), freq) if len(runs) == 1 else speech_mp3(tuple(runs), freq)
        if fault in ("close_mid_stream", "tcp_cut"):
            mp3 = mp3[: len(mp3) // 2]  # by bytes: a clip that fits in one frame is cut too
        pieces = [mp3[i : i + self.frame_bytes] for i in range(0, len(mp3), self.frame_bytes)]
        if fault == "short_audio":
            pieces = pieces[:1]
        for piece in pieces:
            await ws.send_bytes(_audio_frame(piece, rid))
        if fault == "close_mid_stream":
            await ws.close()
            return
        if fault == "tcp_cut":
            transport = request.transport
            if transport is not None:
                transport.abort()
            return
        await ws.send_bytes(_audio_frame(b"", rid, content_type=False))
        await ws.send_str(_text_frame("turn.end", "{}", rid))

    def _starts(self, text: str) -> list[float | None]:
        """When each character of ``text`` starts in the audio (None: not spoken).

        Each spoken character lasts ``seconds_per_char``; with ``clause_pause`` a clause or
        sentence mark followed by more speech adds that much silence, as a real voice pauses.
        """
        out: list[float | None] = []
        at, left = 0.0, spoken_chars(text)
        for ch in text:
            if _SPOKEN.match(ch):
                out.append(at)
                at, left = at + self.seconds_per_char, left - 1
            else:
                out.append(None)
                if ch in _PAUSE_MARKS and left:
                    at += self.clause_pause
        return out

    def _speech(self, text: str) -> list[tuple[float, bool]]:
        """The audio as (seconds, is speech) runs: tone for spoken characters, silence for pauses."""
        runs: list[tuple[float, bool]] = []
        end = 0.0
        for start in self._starts(text):
            if start is None:
                continue
            if start > end + 1e-9:
                runs.append((start - end, False))
            if runs and runs[-1][1]:
                runs[-1] = (runs[-1][0] + self.seconds_per_char, True)
            else:
                runs.append((self.seconds_per_char, True))
            end = start + self.seconds_per_char
        return runs or [(self.seconds_per_char, True)]

    async def _endless(self, ws: web.WebSocketResponse, rid: str, seconds: int = 3600) -> None:
        """An hour of a one-second tone, sent until the client hangs up (CBR frames concatenate)."""
        second = tone_mp3(1.0, 500)
        with contextlib.suppress(ConnectionError, RuntimeError):
            for _ in range(seconds):
                if ws.closed:
                    return
                for i in range(0, len(second), self.frame_bytes):
                    await ws.send_bytes(_audio_frame(second[i : i + self.frame_bytes], rid))
            await ws.send_bytes(_audio_frame(b"", rid, content_type=False))
            await ws.send_str(_text_frame("turn.end", "{}", rid))

    def _boundaries(self, text: str, word_boundary: bool) -> list[dict[str, object]]:
        """Sentence (or word) boundaries, timed like the audio, in ticks (see :func:`words`)."""
        per = self.seconds_per_char
        kind = "WordBoundary" if word_boundary else "SentenceBoundary"
        units = words(text) if word_boundary else [s for s in _SENTENCE_END.split(text) if s.strip()]
        starts = self._starts(text)
        out: list[dict[str, object]] = []
        pos = 0
        for unit in units:
            at = text.find(unit, pos)
            pos = at + len(unit)
            times = [t for t in starts[at:pos] if t is not None]
            if not times:
                continue
            out.append(
                {
                    "Type": kind,
                    "Data": {
                        "Offset": round(times[0] * TICKS_PER_SECOND),
                        "Duration": round((times[-1] + per - times[0]) * TICKS_PER_SECOND),
                        "text": {"Text": escape(unit), "Length": len(unit), "BoundaryType": kind},
                    },
                }
            )
        return out
