"""Handing freed heap memory back to the system, for both offline models."""

from __future__ import annotations

import ctypes
from typing import Any


def _glibc(name: str, *argtypes: Any) -> Any:
    """glibc's function ``name`` (returning an int) through ctypes, or None (no glibc: macOS, musl)."""
    try:
        function = getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):
        return None
    function.argtypes = list(argtypes)
    function.restype = ctypes.c_int
    return function


def release_free_memory() -> None:
    """Hand freed heap memory back to the system (glibc's ``malloc_trim``; elsewhere nothing).

    Called after each text an offline model finished: its buffers are free. Why: each
    synthesis thread makes many short-lived 0.1-4 MB buffers (mels, vocoder outputs,
    audio, WAV bytes, and LiteRT's dynamic tensors in the acoustic model). glibc raises
    its mmap threshold each time such a block is freed, after which they come from the
    thread's own heap and stay resident after ``free``: the sample's build peaked 395-457
    MB with that, 378-382 MB trimming after each text. ``malloc_trim`` only returns
    memory that is already free, at ~1 ms a call. (Pinning the mmap threshold with
    ``mallopt`` got Baker 342 MB but is process-wide and made the concurrent assembly
    stage ~2x slower, so Baker does not; Kokoro does, where it cost ~2 % of a build's CPU
    and kept a long bulletin's peak from growing: see
    :data:`bulletin.engines.offline.kokoro.speaker.PIN_MMAP_THRESHOLD`.)
    """
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def pin_mmap_threshold(size: int) -> None:
    """Pin glibc's mmap threshold (``M_MMAP_THRESHOLD``; process-wide, for the rest of the
    process; elsewhere nothing): every block of ``size`` bytes or more is its own mapping,
    given back to the system the moment it is freed, instead of a part of a thread's heap
    that stays resident."""
    if _MALLOPT is not None:
        _MALLOPT(_M_MMAP_THRESHOLD, size)


_M_MMAP_THRESHOLD = -3
_MALLOC_TRIM = _glibc("malloc_trim", ctypes.c_size_t)
_MALLOPT = _glibc("mallopt", ctypes.c_int, ctypes.c_int)
