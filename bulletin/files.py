"""Atomic file writes: the one way bulletin replaces a file (outputs, cache entries, models).

Bulletins are published by cron into folders that a web server or a podcast app may be
reading at the same moment, and the cache and model store are shared by concurrent runs,
so every write follows one rule: **never a half-written file in place.** Content is
written to a hidden temp file in the *same folder* (same filesystem, so the final
:func:`os.replace` is atomic), fsynced, then renamed over the old file. Readers see the
old content or the new, never a mix. On any failure, including Ctrl-C, ``SystemExit`` and
a killed ffmpeg, the temp file is removed and the old file stays byte-identical.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from bulletin.errors import PublishError

#: Hidden temp files (``.NAME.XXXX.part``) older than this are leftovers of a run that was
#: killed with SIGKILL (or lost power) mid-write; the next write of the same output
#: removes them. An hour is far longer than any encode, so a live writer is never hit.
STALE_TEMP_SECONDS = 3600.0

#: Mode of a newly published file: readable by the web server, whatever mkstemp chose.
PUBLISHED_MODE = 0o644

_TEMP_SUFFIX = ".part"


def _temp_prefix(path: Path) -> str:
    return f".{path.name}."


def _sweep(folder: Path, stale: Callable[[Path], bool], remove: Callable[[Path], None]) -> int:
    """Remove the entries of ``folder`` that ``stale`` picks; how many went. Housekeeping:
    an entry that cannot be read or removed is skipped, and so is an unreadable folder."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return 0
    removed = 0
    for entry in entries:
        try:
            if stale(entry):
                remove(entry)
                removed += not os.path.lexists(entry)
        except OSError:
            continue
    return removed


def remove_stale_temp_files(path: Path, older_than: float = STALE_TEMP_SECONDS) -> int:
    """Remove leftover ``.NAME.*.part`` files of *path* older than *older_than* seconds.

    A process killed with SIGKILL cannot clean up after itself; its temp file stays behind
    (hidden, never in place of the real output). This sweeps such leftovers on the next
    run. Returns how many were removed; errors are ignored (it is housekeeping only).
    """
    prefix, cutoff = _temp_prefix(path), time.time() - older_than

    def stale(entry: Path) -> bool:
        name = entry.name
        return name.startswith(prefix) and name.endswith(_TEMP_SUFFIX) and entry.lstat().st_mtime < cutoff

    return _sweep(path.parent, stale, Path.unlink)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (a crash right after must not undo it); POSIX only."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_output(path: Path, *, durable: bool = True) -> Iterator[Path]:
    """Yield a temp path to write *path*'s new content to; publish it only on success.

    The temp file (``.NAME.XXXX.part``, hidden, already created and empty) lives in the
    target folder so the final :func:`os.replace` never crosses filesystems. On success
    it is fsynced, given the old file's mode (or 0644 for a new file, so a web server can
    read it) and renamed into place. On *any* exception, including ``KeyboardInterrupt``
    and ``SystemExit``, it is removed and the exception propagates; the old file is never
    touched. Note for ffmpeg callers: the name ends in ``.part``, so pass ``-f mp3`` and
    ``-y`` (the file already exists).

    ``durable=False`` skips the fsyncs and the mode change: for cache entries, where a
    torn file after a power cut fails its checksum and is only a miss.

    Raises :class:`PublishError` when the folder cannot be created or written.
    """
    path = Path(path)
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PublishError(f"cannot create output folder {folder}: {exc.strerror or exc}") from exc
    remove_stale_temp_files(path)
    try:
        fd, temp_name = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=_TEMP_SUFFIX, dir=folder)
    except OSError as exc:
        raise PublishError(f"cannot write in {folder}: {exc.strerror or exc}") from exc
    os.close(fd)
    temp = Path(temp_name)
    try:
        yield temp
        if durable:
            _publish_temp(temp, path)
        else:
            try:
                os.replace(temp, path)
            except OSError as exc:
                raise PublishError(f"cannot write {path}: {exc.strerror or exc}") from exc
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise


def _publish_temp(temp: Path, path: Path) -> None:
    """fsync, set the mode, rename into place; any OS failure becomes a PublishError."""
    try:
        try:
            mode = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = PUBLISHED_MODE
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except OSError as exc:
        raise PublishError(f"cannot publish {path}: {exc.strerror or exc}") from exc
    _fsync_dir(path.parent)


def write_bytes_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Replace *path* with *data* atomically (see :func:`atomic_output`)."""
    with atomic_output(path, durable=durable) as temp:
        try:
            temp.write_bytes(data)
        except OSError as exc:
            raise PublishError(f"cannot write {path}: {exc.strerror or exc}") from exc


def write_text_atomic(path: Path, text: str, encoding: str = "utf-8") -> None:
    """Replace *path* with *text* atomically (UTF-8, ``\\n`` line ends on every OS)."""
    write_bytes_atomic(path, text.encode(encoding))


def file_digest(path: Path) -> tuple[int, str]:
    """(size, sha256 hex) of a file, read in blocks (bulletins can be tens of MB)."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


# --------------------------------------------------------------------------- temporary folders

#: Our temporary folders are named ``bulletin-<pid>-<kind>-XXXX``: the pid says whose they are.
_TEMP_DIR_RE = re.compile(r"^bulletin-(\d+)-[a-z]+-")
#: Folders from before the pid was in the name (``bulletin-asm-XXXX``): swept by age.
_OLD_TEMP_DIR_RE = re.compile(r"^bulletin-(asm|probe|dec|play)-")


def temp_dir(kind: str, folder: Path | None = None) -> tempfile.TemporaryDirectory[str]:
    """A temporary folder for this process (``bulletin-<pid>-<kind>-XXXX``), removed on exit.

    A run killed with SIGKILL cannot remove it; the pid in its name lets a later run see
    that its owner is gone (:func:`sweep_temp_dirs`).
    """
    return tempfile.TemporaryDirectory(prefix=f"bulletin-{os.getpid()}-{kind}-", dir=folder)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, but is not ours to signal
        return True
    return True


def sweep_temp_dirs(folder: Path | None = None, older_than: float = STALE_TEMP_SECONDS) -> int:
    """Remove temporary folders left by runs that were killed (their process is gone).

    Only our own names are touched: ``bulletin-<pid>-…`` whose pid no longer runs, and the
    old unnamed kind once older than ``older_than``. Housekeeping: errors are ignored.
    Returns how many were removed.
    """
    cutoff = time.time() - older_than

    def stale(entry: Path) -> bool:
        if not entry.is_dir() or entry.is_symlink():
            return False
        match = _TEMP_DIR_RE.match(entry.name)
        if match is not None:
            pid = int(match.group(1))
            return pid != os.getpid() and not _alive(pid)
        return bool(_OLD_TEMP_DIR_RE.match(entry.name)) and entry.lstat().st_mtime < cutoff

    root = Path(folder) if folder is not None else Path(tempfile.gettempdir())
    return _sweep(root, stale, lambda entry: shutil.rmtree(entry, ignore_errors=True))
