"""How each character of a text is read: pinyin, polyphones in context, what cannot be said.

Shared by both offline models (Kokoro turns the readings into phonemes, Baker into its
symbols) and by ``bulletin pronounce``: :mod:`~bulletin.engines.reading.pinyin`
(:class:`Reader`, a :class:`Reading` per character, :func:`unspoken`) and
:mod:`~bulletin.engines.reading.polyphones` (g2pM's network, ``TRUST``, ``LEXICAL``).
"""

from __future__ import annotations

from functools import cache

from bulletin.engines.reading.pinyin import LETTER_PINYIN, READING_VERSION, Reader, Reading, unspoken

__all__ = ["LETTER_PINYIN", "READING_VERSION", "Reader", "Reading", "skipped", "unspoken"]


@cache
def _reader() -> Reader:
    return Reader()  # immutable and thread-safe: one for the process


def skipped(text: str, *, spell: bool) -> list[str]:
    """What a voice will skip in ``text``: unreadable characters, and Latin words other than
    acronyms unless it ``spell`` s them. Dictionary readings only (no network, no sandhi):
    enough to know what is skipped, at a fraction of the cost."""
    return unspoken(_reader().read(text, sandhi=False, polyphones=False, spell=spell))
