"""The Edge engine: Microsoft Edge's online voices through edge-tts (:mod:`~bulletin.engines.edge.engine`).

What the build must know about the Edge engine *without importing it* lives here:
importing edge-tts and aiohttp costs a quarter of a second, which a run served wholly
from the cache should not pay.
"""

from __future__ import annotations

from importlib.metadata import version

#: Longest Edge chunk in characters: Chinese is 3 bytes a character in UTF-8 and XML
#: escaping can triple ``&``/``<``, so 300 characters stays far under Edge's 4096-byte
#: request even after the SSML wrapper (edge-tts sends Chinese without spaces whole).
EDGE_MAX_CHUNK_CHARS = 300
#: Edge requests in flight at once (``--concurrency``; the run's default is this one).
EDGE_CONCURRENCY = 6


def edge_version(words: bool = True) -> str:
    """``edge-tts-<version>/words``: the client decides the request (voice and prosody are keyed apart).

    ``/words``: clips are asked for with word boundaries (subtitles are timed by them), so
    clips cached when only sentence boundaries were asked for are not reused.
    """
    return f"edge-tts-{version('edge-tts')}" + ("/words" if words else "")
