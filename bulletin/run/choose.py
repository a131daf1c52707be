"""Which engine makes this bulletin, and with which voice: decided here, and only here.

:func:`choose` is used by the build, the dry run and the preview alike; it returns a
:class:`Choice` (engine, preset, why). :func:`fall_back` is the one other decision: with
``--engine auto``, an Edge that fails for good mid-run hands the *whole* bulletin to the
offline voice (one bulletin never mixes engines).

Choosing must stay cheap: the Edge engine (edge-tts, aiohttp) and the offline one (LiteRT)
are imported only once chosen, and a run whose every chunk is cached chooses Edge without
importing or contacting it (:class:`DeferredEdge`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol

from bulletin.engines import EDGE_MAX_CHUNK_CHARS, edge_engine, edge_version, offline_engine
from bulletin.engines.base import Clip, Engine, Installs, OnClip, VoiceSettings
from bulletin.environment import Endpoints
from bulletin.errors import ConfigError, EngineUnavailable
from bulletin.run.options import DEFAULTS
from bulletin.run.presets import Preset, for_engine, pitch_unused

#: How long ``--engine auto`` waits for the Edge endpoint before choosing the offline voice.
PROBE_SECONDS = 3.0


class Informs(Protocol):
    """Anything that tells the user something (the build's console is one)."""

    def info(self, message: str) -> None: ...


@dataclass(frozen=True)
class Choice:
    """The engine for this run, the preset it speaks with, and why (shown to the user)."""

    engine: Engine
    preset: Preset
    why: str
    #: Set when the offline voice stands in for an Edge that was wanted (the report says why).
    fallback_reason: str | None = None

    @property
    def voice(self) -> VoiceSettings:
        return self.preset.settings


#: Makes an engine by name ("edge", "offline"); :class:`EngineFactory`, or a caller's own.
MakeEngine = Callable[[str], Engine]


@dataclass(frozen=True)
class EngineFactory:
    """Makes engines with the run's settings (concurrency, endpoints, model folder)."""

    concurrency: int = DEFAULTS.voice.concurrency
    endpoints: Endpoints = Endpoints()
    data_dir: Path | None = None

    def __call__(self, name: str) -> Engine:
        if name == "edge":
            return edge_engine(concurrency=self.concurrency, endpoints=self.endpoints)
        if name == "offline":
            return offline_engine(data_dir=self.data_dir)
        raise ConfigError(f"unknown engine {name!r}")


def choose(
    requested: str,
    preset: Preset,
    make: MakeEngine,
    *,
    probe: bool = True,
    all_cached: Callable[[Engine, Preset], bool] | None = None,
    given: Engine | None = None,
) -> Choice:
    """Pick the engine for this run and say why.

    - ``given``: the caller's engine (library use, tests), no probe, no fallback;
    - ``offline``, or ``auto`` with an offline preset: the offline voice (an Edge voice's
      same-gender Kokoro voice if one was named, else the default offline voice);
    - ``auto``/``edge`` with every chunk already cached (``all_cached``): Edge, not contacted;
    - ``probe=False`` (the dry run): Edge, not contacted;
    - else Edge when its endpoint answers within :data:`PROBE_SECONDS`; if it does not,
      ``edge`` is a temporary failure (exit 75) and ``auto`` takes the offline voice.
    """
    if given is not None:
        return Choice(given, for_engine(preset, given.name), "given by the caller")
    if requested == "offline" or (requested == "auto" and preset.engine == "offline"):
        why = "requested" if requested == "offline" else f"voice {preset.name} is offline"
        # --engine offline with no --voice: the default offline voice, not the script's Edge voice's twin
        voice, note = pitch_unused(for_engine(preset, "offline", same_gender=not preset.by_default))
        return Choice(make("offline"), voice, f"{why}; {note}" if note else why)
    if requested not in ("auto", "edge"):
        raise ConfigError(f"unknown engine {requested!r} (auto, edge or offline)")
    if requested == "edge":  # an offline voice with --engine edge: refused by the dry run as by the build
        preset = for_engine(preset, "edge")
    # our own Edge is made only if it must be contacted; a caller's factory is asked at once
    # (its engine's chunk limit and version are its own, not those of bulletin's Edge)
    edge = DeferredEdge(make) if isinstance(make, EngineFactory) else make("edge")
    if all_cached is not None and all_cached(edge, preset):
        return Choice(edge, preset, "every chunk is cached")
    if not probe:
        return Choice(edge, preset, "not contacted (dry run)")
    ok, reason = edge.probe(timeout=PROBE_SECONDS)
    if ok:
        return Choice(edge, preset, "requested" if requested == "edge" else "the Edge service answered")
    reason = reason.removeprefix("edge: ")
    if requested == "edge":
        raise EngineUnavailable(f"Edge is unreachable: {reason}; try again later or use --engine offline")
    return fall_back(preset, make, f"Edge is unreachable: {reason}")


def fall_back(preset: Preset, make: MakeEngine, why: str) -> Choice:
    """The offline voice in place of Edge, keeping the preset's prosody: the default offline
    voice, unless a voice was named (then the Kokoro voice of its gender)."""
    voice, note = pitch_unused(for_engine(preset, "offline", same_gender=not preset.by_default))
    return Choice(make("offline"), voice, f"{why}; {note}" if note else why, fallback_reason=why)


def may_fall_back(requested: str, choice: Choice) -> bool:
    """Can a permanent Edge failure mid-run still become an offline bulletin?"""
    return requested == "auto" and choice.engine.name == "edge" and choice.why != "given by the caller"


def announce_model_install(
    engine: Engine, console: Informs, data_dir: Path | None, voice: VoiceSettings | None = None
) -> None:
    """Say so before the voice's model is fetched on first use (the offline models: through pip).

    The engine says what it would fetch (:class:`~bulletin.engines.base.Installs`); it
    installs into its own folder, which :class:`EngineFactory` gave it from the run's
    (``data_dir`` is no longer read here).
    """
    if isinstance(engine, Installs):
        note = engine.install_note(voice or VoiceSettings(engine.name, ""))
        if note is not None:
            console.info(note)


class DeferredEdge:
    """The Edge engine, imported and made only when something must really be said or probed.

    Name, chunk limit and version come from :mod:`bulletin.engines` without importing
    edge-tts and aiohttp, so a run served from the cache does not pay for them.
    """

    name: ClassVar[str] = "edge"
    max_chunk_chars: ClassVar[int] = EDGE_MAX_CHUNK_CHARS

    def __init__(self, make: Callable[[str], Engine]) -> None:
        self._make = make
        self._engine: Engine | None = None
        self._probed = False

    def _real(self) -> Engine:
        if self._engine is None:
            self._engine = self._make("edge")
        return self._engine

    def version(self, voice: VoiceSettings | None = None) -> str:
        return edge_version()

    def probe(self, timeout: float) -> tuple[bool, str]:
        self._probed = True
        return self._real().probe(timeout)

    def synthesize(
        self, texts: Sequence[str], voice: VoiceSettings, *, on_clip: OnClip | None = None
    ) -> list[Clip]:
        if not self._probed:  # chosen from the cache, but an entry turned out unreadable: ask Edge now
            ok, reason = self.probe(PROBE_SECONDS)
            if not ok:
                raise EngineUnavailable(f"Edge is unreachable: {reason.removeprefix('edge: ')}")
        return self._real().synthesize(texts, voice, on_clip=on_clip)
