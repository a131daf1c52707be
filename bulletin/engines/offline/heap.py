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
    (Pinning the mmap threshold with ``mallopt`` got 342 MB but is process-wide and
    made the concurrent assembly stage ~2x slower, so it was not kept.) On systems
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


def _threshold_pinner() -> Callable[[int], None]:
    """A function that pins glibc's mmap threshold to the bytes given, or does nothing."""
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return lambda size: None
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    m_mmap_threshold = -3  # glibc's M_MMAP_THRESHOLD

    def pin(size: int) -> None:
        mallopt(m_mmap_threshold, size)

    return pin


#: Pin glibc's mmap threshold (process-wide, for the rest of the process): every block of
#: that size or more is its own mapping, given back to the system the moment it is freed.
#: Kokoro does this only if set to run without onnxruntime's arena (not the default: it
#: costs CPU; see :data:`bulletin.engines.offline.kokoro.speaker.CPU_ARENA`).
pin_mmap_threshold = _threshold_pinner()
