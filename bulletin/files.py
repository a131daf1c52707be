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
import errno
import hashlib
import json
import os
import re
import secrets
import shutil
import stat
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

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


#: Bytes our temp and backup names add to a file's name: ``.NAME.1a2b3c4d.old.part``.
TEMP_NAME_EXTRA = len("..") + 8 + len(".old") + len(_TEMP_SUFFIX)


def longest_name(path: Path) -> int:
    """The longest name (in bytes) a file in ``path``'s folder may have for us to publish it.

    Publishing writes ``.NAME.XXXXXXXX.part`` beside the target and keeps the old file as
    ``.NAME.XXXXXXXX.old.part``; those must fit the filesystem's name limit too, or the
    run would fail after all the synthesis.
    """
    folder = Path(path).absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        limit = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        limit = 255
    return limit - TEMP_NAME_EXTRA


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
    with published_together(durable=durable) as outputs:
        yield outputs.stage(path)


class PublishSet:
    """Files replaced together: each staged in a temp file, then all renamed, or none.

    A bulletin is an MP3, its subtitles and its feed item; a podcast app must never see
    a feed naming an MP3 that is not there, and cron must never see a failed run beside
    a new MP3. So everything is written to temp files first (the slow part, where full
    disks and signals strike), then :meth:`commit` renames them in the order staged. The
    old files are kept as hard links (copies where links are not allowed) until the last
    rename is done; if a rename fails or a signal arrives between them, the files already
    renamed are put back (or removed, when there was none), so the set is published
    whole or not at all. Only SIGKILL or a power cut between two renames (microseconds)
    can leave part of a set in place.
    """

    def __init__(self, *, durable: bool = True) -> None:
        self.durable = durable
        self._staged: list[tuple[Path, Path]] = []  # (temp, target), in rename order

    def stage(self, path: Path) -> Path:
        """A new empty temp file in ``path``'s folder, to be renamed over ``path`` on commit."""
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
        self._staged.append((Path(temp_name), path))
        return Path(temp_name)

    def discard(self) -> None:
        """Remove every temp file still staged; nothing (more) is published."""
        for temp, _ in self._staged:
            with contextlib.suppress(OSError):
                temp.unlink()
        self._staged.clear()

    def commit(self) -> None:
        """Rename every staged file into place, in order; on any failure, none stays renamed."""
        if self.durable:
            for temp, target in self._staged:
                _make_ready(temp, target)
        backups: list[Path | None] = []
        try:
            for _, target in self._staged:
                backups.append(_backup(target))
            self._rename_all(backups)
        finally:
            for backup in backups:
                if backup is not None:
                    with contextlib.suppress(OSError):
                        backup.unlink()
        if self.durable:
            for folder in dict.fromkeys(target.parent for _, target in self._staged):
                _fsync_dir(folder)
        self._staged.clear()

    def _rename_all(self, backups: list[Path | None]) -> None:
        try:
            for temp, target in self._staged:
                try:
                    os.replace(temp, target)
                except OSError as exc:
                    raise PublishError(f"cannot publish {target}: {exc.strerror or exc}") from exc
        except BaseException:  # a failed rename, or a signal between two: undo the ones done
            for (temp, target), backup in zip(self._staged, backups, strict=True):
                if not os.path.lexists(temp):  # renamed (a signal may come just after a rename)
                    _restore(target, backup)
            raise


@contextlib.contextmanager
def published_together(*, durable: bool = True) -> Iterator[PublishSet]:
    """A :class:`PublishSet` committed when the block ends well, discarded on any exception."""
    outputs = PublishSet(durable=durable)
    try:
        yield outputs
        outputs.commit()
    finally:
        outputs.discard()


def _make_ready(temp: Path, target: Path) -> None:
    """fsync the temp file and give it the old file's mode (0644 for a new one)."""
    try:
        try:
            mode = target.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = PUBLISHED_MODE
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
    except OSError as exc:
        raise PublishError(f"cannot publish {target}: {exc.strerror or exc}") from exc


def _backup(target: Path) -> Path | None:
    """Keep ``target``'s current content under a hidden temp name (None: there is none)."""
    if not os.path.lexists(target):
        return None
    backup = target.parent / f"{_temp_prefix(target)}{secrets.token_hex(4)}.old{_TEMP_SUFFIX}"
    try:
        try:
            os.link(target, backup, follow_symlinks=False)
        except OSError:  # no hard links here (some network and FAT filesystems)
            shutil.copy2(target, backup, follow_symlinks=False)
    except OSError as exc:
        why = exc.strerror or exc
        raise PublishError(f"cannot publish {target}: cannot keep the old file: {why}") from exc
    return backup


def _restore(target: Path, backup: Path | None) -> None:
    """Undo one rename: the old file back in place, or no file when there was none."""
    with contextlib.suppress(OSError):
        if backup is None:
            target.unlink()
        else:
            os.replace(backup, target)


class NotRegularFile(OSError):
    """A path that is a FIFO, device or socket where a regular file was expected."""


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of a *regular* file of at most ``limit`` bytes.

    For files bulletin keeps for itself (run state, feed, cache entries): a FIFO put in
    their place would block a plain ``open`` forever while the run holds its lock, and
    ``/dev/zero`` would fill the memory. The file is opened without blocking and refused
    unless it is a regular file; :class:`NotRegularFile` (an ``OSError``) or ``EFBIG``
    says why.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFile(errno.EINVAL, "not a regular file", str(path))
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than {limit} bytes", str(path))
    return data


def read_member(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """The bytes of one member of a zip archive (a wheel), if it holds at most ``limit``.

    Checked by the size the archive declares before anything is unpacked, then by what it
    really unpacks to, read a block at a time: a 4 MB wheel can hold 4 GiB of zeros, which
    ``ZipFile.read`` would unpack into memory whole. ``KeyError`` if there is no such member;
    an ``OSError`` with ``EFBIG`` if it is larger.
    """
    info = archive.getinfo(name)
    if info.file_size > limit:
        raise OSError(errno.EFBIG, f"{name} unpacks to {info.file_size:,} bytes, over {limit:,}")
    data = bytearray()
    with archive.open(info) as member:
        while block := member.read(1 << 20):
            data += block
            if len(data) > limit:
                raise OSError(errno.EFBIG, f"{name} unpacks to more than {limit:,} bytes")
    return bytes(data)


def write_bytes(path: Path, data: bytes, *, name: Path | None = None) -> None:
    """Write *data* to *path* (a staged temp file); OS failures (full disk, ``ulimit -f``) are
    a :class:`PublishError` naming *name*, the file the user asked for."""
    try:
        with open(path, "wb") as handle:
            handle.write(data)
    except OSError as exc:
        raise PublishError(f"cannot write {name or path}: {exc.strerror or exc}") from exc


def copy_file(source: Path, path: Path, *, name: Path | None = None) -> None:
    """Copy *source* to *path* (a staged temp file), with the errors of :func:`write_bytes`."""
    try:
        shutil.copyfile(source, path)
    except OSError as exc:
        raise PublishError(f"cannot write {name or path}: {exc.strerror or exc}") from exc


def json_text(value: object, **options: Any) -> str:
    """JSON for a file: Chinese kept readable, and any name the OS accepts kept exactly.

    A file name that is not UTF-8 (GBK bytes from a Windows share, a stray 0xff) reaches
    Python as lone surrogates, which cannot be written as UTF-8; such text is written with
    ``\\u`` escapes instead, which read back as the very same name.
    """
    text = json.dumps(value, ensure_ascii=False, **options)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(value, ensure_ascii=True, **options)
    return text


def write_bytes_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Replace *path* with *data* atomically (see :func:`atomic_output`)."""
    with atomic_output(path, durable=durable) as temp:
        write_bytes(temp, data, name=path)


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


# --------------------------------------------------------------------------- what runs keep


class StateStore(Protocol):
    """Where what runs keep between them lives: the state folder, or a station group's Redis.

    Run records, each site's remembered furniture and the conditional-request records are
    small documents under names such as ``furniture/<hash>.json``. On one machine they are
    files in the state folder (:class:`FolderStore`); in a station group every worker must
    see the same ones (the last edition's record; what a site's template is, so a page reads
    the same on every worker), so the run is handed a shared store instead. One protocol,
    here at the base, so ``sources`` and ``publish`` both use it without knowing Redis.
    """

    def read(self, name: str, limit: int) -> bytes | None:
        """What is kept under ``name``; None if nothing is, or it cannot be read, or it holds
        more than ``limit`` bytes (a cache: a miss, never an error)."""
        ...

    def write(self, name: str, data: bytes, *, keep: float | None = None) -> None:
        """Keep ``data`` under ``name``, replacing what was there (the last writer wins).

        ``keep``: seconds after which it may be forgotten (None: until replaced); a store
        that prunes by its own rule may ignore it. Raises :class:`PublishError`.
        """
        ...


class FolderStore:
    """A :class:`StateStore` in a folder: a name is a path under it, written atomically.

    ``durable``: fsync each write; a cache's entries skip it (a torn one is a miss).
    ``keep`` is not used: what is kept in a folder is pruned by its owner (the
    conditional-request records to a total size, a site's pieces by age within its record).
    """

    def __init__(self, root: Path, *, durable: bool = True) -> None:
        self.root = Path(root)
        self.durable = durable

    def path(self, name: str) -> Path:
        parts = name.split("/")
        if not name or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"not a name for a kept record: {name!r}")
        return self.root.joinpath(*parts)

    def read(self, name: str, limit: int) -> bytes | None:
        try:
            return read_regular(self.path(name), limit)
        except OSError:  # missing, not a regular file, too large: not ours to trust
            return None

    def write(self, name: str, data: bytes, *, keep: float | None = None) -> None:
        path = self.path(name)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(path, data, durable=self.durable)
        except OSError as exc:
            raise PublishError(f"cannot write {path}: {exc.strerror or exc}") from exc


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
