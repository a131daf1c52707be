"""The offline engine and its models: embedded neural Mandarin voices, no network.

:class:`OfflineEngine` (:mod:`~bulletin.engines.offline.engine`) picks the voice's model
from a table; the models are :mod:`~bulletin.engines.offline.kokoro` and
:mod:`~bulletin.engines.offline.baker`, each behind the interface of
:mod:`~bulletin.engines.offline.model`. Shared by both: :mod:`~bulletin.engines.offline.store`
(the user's model folder, pip downloads, hashes) and :mod:`~bulletin.engines.offline.heap`
(freed memory back to the system after each text).
"""

from __future__ import annotations

from bulletin.engines.offline.engine import MODELS, OfflineEngine, install, model_of, voice_name
from bulletin.engines.offline.model import OfflineModel, Prosody

__all__ = ["MODELS", "OfflineEngine", "OfflineModel", "Prosody", "install", "model_of", "voice_name"]
