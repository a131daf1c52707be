"""Handing freed heap memory back to the system, for both offline models."""

from __future__ import annotations

from collections.abc import Callable


def _heap_trimmer() -> Callable[[], None]:
    """A function that hands freed heap memory back to the system (glibc), or does nothing.

    Why: each synthesis thread makes many short-lived 0.1-4 MB buffers (mels,
    vocoder outputs, audio, WAV bytes, and LiteRT's dynamic tensors in the acoustic
    model). glibc raises its mmap threshold each time such a block is freed, after
    which they come from the thread's own heap and stay resident after ``free``:
    the sample's build peaked 395-457 MB with that, 378-382 MB trimming after each
    text. ``malloc_trim`` only returns memory that is already free, at ~1 ms a call.
    (Pinning the mmap threshold with ``mallopt`` got Baker 342 MB but is process-wide and
    made the concurrent assembly stage ~2x slower, so Baker does not; Kokoro does, where
    it cost ~2 % of a build's CPU and kept a long bulletin's peak from growing: see
    :data:`bulletin.engines.offline.kokoro.speaker.PIN_MMAP_THRESHOLD`.) On systems
    without glibc (macOS, musl) the returned function does nothing.
    """
    try:
        import ctypes

        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return lambda: None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int

    def release() -> None:
        trim(0)

    return release


#: Call after each text an offline model finished: its buffers are free, give the pages back.
release_free_memory = _heap_trimmer()


def _mallopt(param: int) -> Callable[[int], None]:
    """A function that sets one of glibc's ``mallopt`` parameters, or does nothing (no glibc)."""
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return lambda value: None
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int

    def set_value(value: int) -> None:
        mallopt(param, value)

    return set_value


#: Pin glibc's mmap threshold (``M_MMAP_THRESHOLD``; process-wide, for the rest of the
#: process): every block of that size or more is its own mapping, given back to the system
#: the moment it is freed, instead of a part of a thread's heap that stays resident.
pin_mmap_threshold = _mallopt(-3)
