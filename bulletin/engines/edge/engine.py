"""The Edge speech engine: Microsoft Edge's online "read aloud" voices through edge-tts.

Why this module is more than a call to ``edge_tts.Communicate``: edge-tts (7.x) is a thin
client, and a bulletin must not come out with a sentence silently missing. So:

* **Every request has an overall deadline** (:func:`asyncio.wait_for`). edge-tts's
  ``receive_timeout`` only covers the HTTP handshake; once the WebSocket is open a stalled
  server would hang the run forever.
* **Truncation is detected.** edge-tts raises nothing when the connection is closed or cut
  mid-stream: ``stream()`` just ends with less audio. We check that ``turn.end`` was seen
  (edge-tts only moves the chunk's audio byte count into ``cumulative_audio_bytes`` when it
  reads ``turn.end``), that the audio (MP3 frames, counted here) lasts as long as the last
  boundary the service announced, and that it is not implausibly short for the text.
* **Transient failures are retried** (max ``max_attempts``, exponential backoff with jitter):
  no audio, WebSocket/aiohttp errors, timeouts, HTTP 5xx/408/429/403, truncated audio. Then
  :class:`~bulletin.errors.SynthesisError` names the chunk. Worst case per chunk is bounded:
  ``max_attempts × timeout + Σ backoff`` (defaults: 4 × (10 s + 0.1 s/char) + ≤ 3.5 s, so
  ≤ 164 s for a 300-character chunk; an unreachable host fails in about 2 s). The first
  chunk to fail for good cancels the rest, so a run fails about that fast too.
* **Chunks run concurrently** (``concurrency`` requests at once, order kept).

Process-global state edge-tts forces on us (documented, kept as small as possible):

* ``edge_tts.communicate.WSS_URL`` and ``edge_tts.voices.VOICE_LIST``: edge-tts copies the
  endpoints there at import (setting ``edge_tts.constants`` has no effect), so we set them
  for the duration of each call and restore them afterwards.
* ``edge_tts.drm.DRM.clock_skew_seconds``: on an HTTP 403 edge-tts "corrects" the clock from
  the server's ``Date`` header and retries once. We keep a correction only if a request
  made after it succeeded; when the run fails we restore the value it had before, so a
  broken gateway cannot leave a bogus skew for later runs in the same process.
* ``NO_PROXY``/``no_proxy``: edge-tts's aiohttp session trusts proxy variables, so for a
  loopback endpoint (tests, a local gateway) we add ``127.0.0.1,localhost,::1``.

Endpoints come from ``BULLETIN_EDGE_WSS_URL`` / ``BULLETIN_EDGE_VOICES_URL`` (or the
constructor), defaulting to edge-tts's own. ``ws://`` works; a WSS URL without ``?`` gets
one, because edge-tts appends ``&ConnectionId=...``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import math
import os
import random
import re
import ssl
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal
from urllib.parse import SplitResult, urlsplit

import aiohttp
import certifi
import edge_tts
import edge_tts.communicate
import edge_tts.voices
from edge_tts import constants as edge_constants
from edge_tts.data_classes import TTSConfig
from edge_tts.drm import DRM
from edge_tts.exceptions import EdgeTTSException, NoAudioReceived, WebSocketError

from bulletin import environment
from bulletin.engines.base import Boundary, Clip, OnClip, VoiceSettings
from bulletin.engines.edge import EDGE_CONCURRENCY, EDGE_MAX_CHUNK_CHARS, edge_version
from bulletin.engines.prosody import parse_prosody
from bulletin.errors import ConfigError, EngineUnavailable, SynthesisError, TransientError

__all__ = [
    "MAX_CHUNK_CHARS",
    "EdgeEngine",
    "list_voices",
    "mp3_duration",
    "resolve_endpoints",
    "validate_prosody",
]

#: Environment variables naming the endpoints (tests, users behind a gateway).
ENV_WSS_URL = environment.EDGE_WSS_URL
ENV_VOICES_URL = environment.EDGE_VOICES_URL

#: Longest chunk we send. Edge rejects a request over 4096 bytes (SSML included). Chinese
#: is 3 bytes a character in UTF-8: 300 characters are 900 bytes, at most 1500 even if
#: every one were an ``&`` escaped to ``&amp;``, plus ~250 bytes of SSML envelope and
#: ~150 of headers: far under the limit. Shorter chunks also mean a failure costs one
#: sentence or two of retry, not a minute of audio, and keep the requests parallel.
#: (Defined in :mod:`bulletin.engines.edge` so the build can plan without importing us.)
MAX_CHUNK_CHARS = EDGE_MAX_CHUNK_CHARS

#: Our conservative prosody limits: Azure documents speaking rate as 0.5x-2x; beyond
#: these Edge clamps or garbles silently, so we refuse up front with a clear message.

# ShortNames: "zh-CN-XiaoxiaoNeural", "zh-CN-liaoning-XiaobeiNeural", "iu-Latn-CA-SiqiniqNeural".
# Only letters, digits and hyphens: the name goes into an SSML attribute unescaped.
_SHORT_NAME = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]+){1,3}-[A-Za-z0-9]*Neural$")
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
#: HTTP statuses (besides 5xx) worth retrying: 403 is edge-tts's clock-skew signal.
_RETRIED_STATUSES = (403, 408, 429)
# Characters that take speaking time: CJK ideographs one each, a run of Latin letters or
# digits one "word".
_SPOKEN_UNIT = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[A-Za-z0-9]+")

#: Mandarin at +0% is ~4-6 characters a second. Audio shorter than the text would take at
#: this rate (scaled by the speaking rate) is truncated. It is a last-resort floor, set
#: 4-5x above real speech so only grossly short audio trips it (say one frame for a long
#: sentence, with turn.end and no boundaries to compare); turn.end and the boundaries are
#: the precise checks. Test doubles that "speak" fast (20 chars/s) stay under it.
MAX_UNITS_PER_SECOND = 25.0
#: The other way: audio longer than the text at this many units a second (a tenth of real
#: speech, scaled by the rate) plus :data:`AUDIO_ALLOWANCE_S` is a service gone wrong (one
#: seen sending an hour for a sentence). It is refused as it streams in, so memory stays
#: bounded, and retried like a truncation.
MIN_UNITS_PER_SECOND = 0.5
AUDIO_ALLOWANCE_S = 10.0
#: Bytes a second of audio may take while it streams in: 128 kbps, room above the 48 kbps asked.
MAX_MP3_BYTES_PER_SECOND = 16_000
#: Audio may end this much before the last boundary's end before we call it truncated
#: (MP3 frames are 24 ms; services round boundary times).
BOUNDARY_SLACK = 0.25


# --------------------------------------------------------------------------------------
# Validation and configuration (no network)
# --------------------------------------------------------------------------------------


def validate_prosody(voice: VoiceSettings) -> None:
    """Refuse bad voice settings with a clear :class:`ConfigError`, before any request.

    Why here and not left to edge-tts: edge-tts raises a bare ValueError deep inside a run
    (or, for out-of-range values, the service silently clamps), and a voice name with a
    quote in it would go into the SSML unescaped.
    """
    if voice.engine != "edge":
        raise ConfigError(f"edge: voice settings are for engine {voice.engine!r}, not 'edge'")
    if not isinstance(voice.voice, str) or not _SHORT_NAME.match(voice.voice):
        raise ConfigError(
            f"edge: voice {voice.voice!r} is not an Edge ShortName (like zh-CN-XiaoxiaoNeural); "
            "see `bulletin voices`"
        )
    try:
        parse_prosody(voice.rate, voice.volume, voice.pitch)
    except ConfigError as e:
        raise ConfigError(f"edge: {e}") from None
    try:  # edge-tts's own check, so we can never accept what it would reject
        TTSConfig(voice.voice, voice.rate, voice.volume, voice.pitch, "SentenceBoundary")
    except (TypeError, ValueError) as e:
        raise ConfigError(f"edge: {e}") from e


def _speed(voice: VoiceSettings) -> float:
    """Speaking speed relative to +0% (``-50%`` → 0.5)."""
    return 1.0 + parse_prosody(voice.rate, voice.volume, voice.pitch)[0] / 100.0


def _split(url: str, variable: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (a bad port raises only when asked for)
    except ValueError as exc:
        raise ConfigError(f"edge: {variable} is not a valid URL ({exc}): {url!r}") from None
    return parts


def _normalize_wss(url: str) -> str:
    parts = _split(url, ENV_WSS_URL)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ConfigError(f"edge: {ENV_WSS_URL} must be a ws:// or wss:// URL, not {url!r}")
    return url if "?" in url else url + "?"


def _normalize_http(url: str) -> str:
    parts = _split(url, ENV_VOICES_URL)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"edge: {ENV_VOICES_URL} must be an http(s):// URL, not {url!r}")
    return url if "?" in url else url + "?"


def resolve_endpoints(endpoints: environment.Endpoints | None = None) -> tuple[str, str]:
    """The (WSS, voice list) URLs: those given, else edge-tts's defaults.

    ``None`` (library use with nothing handed down) asks :mod:`bulletin.environment`; a run
    hands down what it read once. Both get a ``?`` if they have no query, as edge-tts
    appends ``&...`` parameters.
    """
    found = environment.endpoints() if endpoints is None else endpoints
    wss_url, voices_url = found.wss_url, found.voices_url
    wss = wss_url or edge_constants.WSS_URL
    voices = voices_url or edge_constants.VOICE_LIST
    return _normalize_wss(wss), _normalize_http(voices)


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _ensure_no_proxy(*urls: str) -> None:
    """Keep loopback endpoints away from HTTP(S)_PROXY: edge-tts's session has trust_env=True.

    This adds to the process environment (only adding loopback names, only for loopback URLs):
    the variables are read by aiohttp on every connection, there is no other way in.
    """
    if any(_is_loopback(urlsplit(u).hostname) for u in urls):
        environment.bypass_proxy_for(list(_LOOPBACK_NAMES))


@contextlib.contextmanager
def _endpoints(wss: str, voices: str) -> Iterator[None]:
    """Point edge-tts at our endpoints for the duration of a call (see module docstring)."""
    _ensure_no_proxy(wss, voices)
    saved = (edge_tts.communicate.WSS_URL, edge_tts.voices.VOICE_LIST)
    edge_tts.communicate.WSS_URL = wss  # type: ignore[attr-defined]
    edge_tts.voices.VOICE_LIST = voices  # type: ignore[attr-defined]
    try:
        yield
    finally:
        edge_tts.communicate.WSS_URL, edge_tts.voices.VOICE_LIST = saved  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------
# MP3 measurement
# --------------------------------------------------------------------------------------

_BITRATES = {  # kbps, by (MPEG-1?, index), Layer III
    True: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    False: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def mp3_duration(data: bytes) -> float:
    """Seconds of audio in an MPEG Layer III stream, by walking its frame headers.

    Why not trust byte counts: a cut can land mid-frame and a broken server can send junk;
    counting whole, valid frames measures exactly what a decoder will play. Skips an
    ID3v2 tag and resynchronises over garbage; a trailing partial frame is not counted.
    """
    pos = 0
    if data[:3] == b"ID3" and len(data) >= 10:
        size = (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]
        pos = 10 + size
    seconds = 0.0
    n = len(data)
    while pos + 4 <= n:
        b1, b2 = data[pos + 1], data[pos + 2]
        version = (b1 >> 3) & 3  # 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5, 1: reserved
        layer = (b1 >> 1) & 3  # 1: Layer III
        br_index = b2 >> 4
        sr_index = (b2 >> 2) & 3
        if (
            data[pos] != 0xFF
            or (b1 & 0xE0) != 0xE0
            or version == 1
            or layer != 1
            or br_index in (0, 15)
            or sr_index == 3
        ):
            pos += 1
            continue
        mpeg1 = version == 3
        rate = _SAMPLE_RATES[version][sr_index]
        bitrate = _BITRATES[mpeg1][br_index] * 1000
        padding = (b2 >> 1) & 1
        length = (144 if mpeg1 else 72) * bitrate // rate + padding
        if pos + length > n:
            break
        seconds += (1152 if mpeg1 else 576) / rate
        pos += length
    return seconds


def _spoken_units(text: str) -> int:
    return len(_SPOKEN_UNIT.findall(text))


# --------------------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------------------


@dataclass
class _Attempt:
    """What one request produced."""

    audio: bytes
    boundaries: tuple[Boundary, ...]
    duration: float


class EdgeEngine:
    """Microsoft Edge online voices, via edge-tts; see the module docstring for the why."""

    name: ClassVar[str] = "edge"
    max_chunk_chars: ClassVar[int] = MAX_CHUNK_CHARS

    def __init__(
        self,
        *,
        concurrency: int = EDGE_CONCURRENCY,
        max_attempts: int = 4,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        timeout_base: float = 10.0,
        timeout_per_char: float = 0.1,
        connect_timeout: float = 10.0,
        boundary: Literal["SentenceBoundary", "WordBoundary"] = "WordBoundary",
        max_chars_per_second: float = MAX_UNITS_PER_SECOND,
        endpoints: environment.Endpoints | None = None,
    ) -> None:
        """Configure; no network access happens here.

        ``timeout_base + timeout_per_char × len(text)`` (stretched for slow rates) is the
        deadline of one request, handshake to ``turn.end``. Backoff before retry *n* (1, 2,
        ...) is uniform in [d/2, d] with d = min(backoff_max, backoff_base × 2^(n-1)).
        ``max_chars_per_second``: audio shorter than the text at this speed (times the rate
        factor) counts as truncated; see :data:`MAX_UNITS_PER_SECOND`.
        Endpoints: see :func:`resolve_endpoints` (read now, so a run is self-consistent).
        ``boundary``: what timing the service is asked for. Words (the default) let subtitles
        cut a long sentence into short cues timed by the speech; the service sends one or the
        other, never both, and the word boundaries serve the truncation check just as well.
        """
        if concurrency < 1:
            raise ConfigError("edge: concurrency must be at least 1")
        if max_attempts < 1:
            raise ConfigError("edge: max_attempts must be at least 1")
        if boundary not in ("SentenceBoundary", "WordBoundary"):
            raise ConfigError(f"edge: boundary must be SentenceBoundary or WordBoundary, not {boundary!r}")
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.timeout_base = timeout_base
        self.timeout_per_char = timeout_per_char
        self.connect_timeout = connect_timeout
        self.boundary: Literal["SentenceBoundary", "WordBoundary"] = boundary
        self.max_chars_per_second = max_chars_per_second
        self.wss_url, self.voices_url = resolve_endpoints(endpoints)

    # ---- Engine protocol ---------------------------------------------------------------

    def version(self, voice: VoiceSettings | None = None) -> str:
        """``edge-tts-<version>[/words]``: the client and the boundaries asked for decide the request
        (the same for every voice: the voice is keyed beside it)."""
        return edge_version(words=self.boundary == "WordBoundary")

    def synthesize(
        self,
        texts: Sequence[str],
        voice: VoiceSettings,
        *,
        on_clip: OnClip | None = None,
    ) -> list[Clip]:
        """Speak every text (concurrently, order kept); see :class:`~bulletin.engines.base.Engine`.

        Raises :class:`ConfigError` for bad settings or empty texts before any request,
        :class:`SynthesisError` (``chunk`` set) when a text fails for good.
        """
        validate_prosody(voice)
        for i, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                raise ConfigError(f"edge: chunk {i} has no text to speak")
        if not texts:
            return []
        skew_before = DRM.clock_skew_seconds
        ok = False
        try:
            with _endpoints(self.wss_url, self.voices_url):
                clips = asyncio.run(self._run(list(texts), voice, on_clip, skew_before))
            ok = True
            return clips
        finally:
            if not ok:  # never leave a correction behind that did not get us audio
                DRM.clock_skew_seconds = skew_before

    # ---- probing and voices ----------------------------------------------------------------

    def probe(self, timeout: float) -> tuple[bool, str]:
        """Does the WSS host answer a WebSocket handshake within ``timeout`` seconds?

        Used by ``--engine auto`` to choose edge or offline; the reason is shown to the user.
        It makes a real handshake (same token and headers as edge-tts) and closes at once:
        no synthesis is requested, no global state is touched. "Answers" means the host
        speaks HTTP in time: a 5xx, 403, 408 or 429 still counts (synthesis retries those,
        and a 403 is edge-tts's clock-skew signal), while other 4xx (a wrong path or a
        gateway refusing us) cannot get better by retrying, so they count as down.
        """
        host = urlsplit(self.wss_url).netloc
        _ensure_no_proxy(self.wss_url)
        try:
            asyncio.run(asyncio.wait_for(self._handshake(), timeout))
        except (asyncio.TimeoutError, TimeoutError):
            return False, f"edge: no answer from wss host {host} within {timeout:g} s"
        except aiohttp.WSServerHandshakeError as e:
            if e.status >= 500 or e.status in _RETRIED_STATUSES:
                return True, f"edge: wss host {host} answered (HTTP {e.status} for now; requests are retried)"
            return False, f"edge: wss host {host} refused the handshake (HTTP {e.status})"
        except aiohttp.ClientConnectorError as e:
            return False, f"edge: wss host {host} unreachable ({_os_reason(e)})"
        except (aiohttp.ClientError, OSError) as e:
            return False, f"edge: wss host {host} failed ({_describe(e)})"
        return True, f"edge: wss host {host} answered"

    async def _handshake(self) -> None:
        url = (
            f"{self.wss_url}&ConnectionId={uuid.uuid4().hex}&Sec-MS-GEC={DRM.generate_sec_ms_gec()}"
            f"&Sec-MS-GEC-Version={edge_constants.SEC_MS_GEC_VERSION}"
        )
        async with (
            aiohttp.ClientSession(trust_env=True) as session,
            session.ws_connect(url, headers=DRM.headers_with_muid(edge_constants.WSS_HEADERS), ssl=_SSL_CTX),
        ):
            return

    def list_voices(self, locale_prefix: str = "zh-", *, timeout: float = 15.0) -> list[dict[str, object]]:
        """The service's voices whose Locale starts with ``locale_prefix``, sorted by ShortName.

        Raises :class:`EngineUnavailable` when the voice list cannot be fetched or read.
        """
        skew_before = DRM.clock_skew_seconds
        try:
            with _endpoints(self.wss_url, self.voices_url):
                voices = asyncio.run(asyncio.wait_for(edge_tts.list_voices(), timeout))
        except (asyncio.TimeoutError, TimeoutError) as e:
            DRM.clock_skew_seconds = skew_before
            raise EngineUnavailable(f"edge: voice list did not answer within {timeout:g} s") from e
        except (aiohttp.ClientError, OSError, ValueError, KeyError, TypeError, EdgeTTSException) as e:
            DRM.clock_skew_seconds = skew_before
            raise EngineUnavailable(f"edge: cannot list voices: {_describe(e)}") from e
        out = [dict(v) for v in voices if str(v.get("Locale", "")).startswith(locale_prefix)]
        return sorted(out, key=lambda v: str(v.get("ShortName", "")))

    # ---- the work --------------------------------------------------------------------------

    def request_timeout(self, text: str, voice: VoiceSettings) -> float:
        """Deadline of one request: grows with the text, and with slower speaking rates."""
        return self.timeout_base + self.timeout_per_char * len(text) / min(1.0, _speed(voice))

    async def _run(
        self, texts: list[str], voice: VoiceSettings, on_clip: OnClip | None, skew_before: float
    ) -> list[Clip]:
        sem = asyncio.Semaphore(self.concurrency)
        clips: list[Clip | None] = [None] * len(texts)

        async def one(i: int) -> None:
            clip = await self._chunk(i, texts[i], voice, sem, skew_before)
            clips[i] = clip
            if on_clip is not None:
                on_clip(i, clip)

        tasks = [asyncio.ensure_future(one(i)) for i in range(len(texts))]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            failed = [t for t in tasks if t.done() and not t.cancelled() and t.exception()]
            if failed:
                # The lowest failing chunk is the one reported: deterministic for the user.
                raise failed[0].exception()  # type: ignore[misc]
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return [c for c in clips if c is not None]

    async def _chunk(
        self, i: int, text: str, voice: VoiceSettings, sem: asyncio.Semaphore, skew_before: float
    ) -> Clip:
        """One text, with retries; raises SynthesisError(chunk=i) when it fails for good."""
        timeout = self.request_timeout(text, voice)
        causes: list[str] = []
        for attempt in range(1, self.max_attempts + 1):
            if attempt > 1:
                if _stopping():
                    raise asyncio.CancelledError  # Ctrl-C or SIGTERM: no more attempts
                d = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 2))
                await asyncio.sleep(d / 2 + random.uniform(0, d / 2))
            async with sem:
                started = time.monotonic()
                try:
                    result = await asyncio.wait_for(self._attempt(text, voice), timeout)
                except (asyncio.TimeoutError, TimeoutError):
                    causes.append(f"no complete answer within {timeout:.1f} s")
                    continue
                except TransientError as e:
                    causes.append(str(e))
                    continue
                except aiohttp.ClientResponseError as e:
                    if e.status == 403:  # edge-tts's skew fix did not help: undo it
                        DRM.clock_skew_seconds = skew_before
                    if e.status >= 500 or e.status in _RETRIED_STATUSES:
                        causes.append(f"HTTP {e.status}")
                        continue
                    raise SynthesisError(
                        f"edge: chunk {i} failed: HTTP {e.status} from server", chunk=i
                    ) from e
                except (NoAudioReceived, WebSocketError, EdgeTTSException, aiohttp.ClientError, OSError) as e:
                    causes.append(_describe(e))
                    continue
            clip = Clip(
                data=result.audio,
                format="mp3",
                boundaries=result.boundaries,
                retries=attempt - 1,
                meta={
                    "duration": result.duration,
                    "attempts": attempt,
                    "seconds": round(time.monotonic() - started, 3),
                    "causes": causes,
                },
            )
            return clip
        raise SynthesisError(
            f"edge: chunk {i} failed after {self.max_attempts} attempts: {causes[-1]}"
            + (
                f" (earlier: {'; '.join(sorted(set(causes[:-1]) - {causes[-1]}))})"
                if len(set(causes)) > 1
                else ""
            ),
            chunk=i,
            attempts=self.max_attempts,
        )

    async def _attempt(self, text: str, voice: VoiceSettings) -> _Attempt:
        """One request through edge-tts; raises TransientError if the audio is not whole."""
        connect = max(1, math.ceil(self.connect_timeout))
        comm = edge_tts.Communicate(
            text,
            voice.voice,
            rate=voice.rate,
            volume=voice.volume,
            pitch=voice.pitch,
            boundary=self.boundary,
            connect_timeout=connect,
            receive_timeout=connect,  # edge-tts applies it to the handshake only
        )
        audio = bytearray()
        longest = AUDIO_ALLOWANCE_S + _spoken_units(text) / (MIN_UNITS_PER_SECOND * _speed(voice))
        too_much = f"too much audio: more than {longest:.0f} s for {len(text)} characters"
        boundaries: list[Boundary] = []
        kind: Literal["sentence", "word"] = "word" if self.boundary == "WordBoundary" else "sentence"
        async with contextlib.aclosing(comm.stream()) as stream:  # closed at once if we give up
            async for msg in stream:
                if msg["type"] == "audio":
                    audio += msg.get("data", b"")
                    if len(audio) > longest * MAX_MP3_BYTES_PER_SECOND:
                        raise TransientError(too_much)
                elif msg["type"] in ("SentenceBoundary", "WordBoundary"):
                    boundaries.append(
                        Boundary(
                            kind=kind,
                            text=msg.get("text", ""),
                            offset=msg.get("offset", 0.0) / edge_constants.TICKS_PER_SECOND,
                            duration=msg.get("duration", 0.0) / edge_constants.TICKS_PER_SECOND,
                        )
                    )
        data = bytes(audio)
        self._check_complete(comm, data)
        duration = mp3_duration(data)
        if duration <= 0:
            raise TransientError(f"audio undecodable ({len(data)} bytes, no MP3 frames)")
        if duration > longest:
            raise TransientError(too_much)
        if boundaries:
            end = max(b.offset + b.duration for b in boundaries)
            if duration + BOUNDARY_SLACK < end:
                raise TransientError(
                    f"audio truncated: {duration:.2f} s but the service announced speech up to {end:.2f} s"
                )
        floor = _spoken_units(text) / (self.max_chars_per_second * _speed(voice))
        if duration < floor:
            raise TransientError(f"audio truncated: {duration:.2f} s is too short for {len(text)} characters")
        return _Attempt(data, tuple(boundaries), duration)

    @staticmethod
    def _check_complete(comm: edge_tts.Communicate, data: bytes) -> None:
        """Was ``turn.end`` read? edge-tts says so only through its state counters.

        On ``turn.end`` edge-tts (≥ 7.2) adds the chunk's audio bytes to
        ``cumulative_audio_bytes`` and zeroes ``chunk_audio_bytes``; if the connection closed
        or was cut first, the bytes are still "in the chunk". Older 7.x lacks the counters;
        then the duration checks in :meth:`_attempt` are all we have.
        """
        state = getattr(comm, "state", None)
        if not isinstance(state, dict) or "cumulative_audio_bytes" not in state:
            return
        if state.get("chunk_audio_bytes", 0) or state["cumulative_audio_bytes"] != len(data):
            raise TransientError(f"connection closed before turn.end ({len(data)} bytes of audio received)")


_SSL_CTX = ssl.create_default_context(cafile=certifi.where())


def _os_reason(e: aiohttp.ClientConnectorError) -> str:
    """'connection refused', 'name not resolved', ... from a connector error."""
    if isinstance(e, getattr(aiohttp, "ClientConnectorDNSError", ())):
        return "host name not resolved"
    err = e.os_error
    if isinstance(err, ConnectionRefusedError):
        return "connection refused"
    if err is not None and err.errno:
        return os.strerror(err.errno).lower()
    text = str(err or e)
    return text.lower() if text else type(e).__name__


def _stopping() -> bool:
    """Whether this task has been asked to stop. A retry must not outlive Ctrl-C: in the turn
    a request fails, :func:`asyncio.wait_for` (before Python 3.12) returns the request's own
    error rather than the cancellation, and the retry loop would go on for minutes."""
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)  # Python 3.11+
    return bool(cancelling is not None and cancelling())


def _describe(e: BaseException) -> str:
    """One short line for a cause, without aiohttp's URL dumps (they hold the token)."""
    if isinstance(e, aiohttp.ClientResponseError):
        return f"HTTP {e.status}"
    if isinstance(e, aiohttp.ClientConnectorError):
        return f"cannot connect ({_os_reason(e)})"
    if isinstance(e, NoAudioReceived):
        return "no audio received"
    if isinstance(e, aiohttp.ServerDisconnectedError):
        return "server disconnected"
    text = str(e).strip()
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def list_voices(locale_prefix: str = "zh-", *, timeout: float = 15.0) -> list[dict[str, object]]:
    """:meth:`EdgeEngine.list_voices` with the endpoints from the environment (for the CLI)."""
    return EdgeEngine().list_voices(locale_prefix, timeout=timeout)
