"""Publish safely (stage: publish): atomic writes, an output lock, output names, skip-unchanged.

Bulletins are published by cron into folders that a web server or a podcast app may
be reading at the same moment, so every write here follows three rules:

* **Never a half-written file in place.** Output is written to a hidden temp file in
  the *same folder* (same filesystem, so the final :func:`os.replace` is atomic), fsynced,
  then renamed over the old file. Readers see the old bulletin or the new one, never a
  mix. On any failure — including Ctrl-C, ``SystemExit`` and a killed ffmpeg — the temp
  file is removed and the old file stays byte-identical.
* **One run per output at a time.** :func:`output_lock` takes a ``filelock`` lock next to
  the output; a second run that cannot get it raises :class:`~bulletin.errors.BusyError`
  naming the holder, which the CLI turns into exit 75 (cron: "try again later").
* **Don't redo work.** :class:`RunState` remembers what the last successful run of an
  output produced, so an unchanged article with unchanged settings is not re-published.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import string
import sys
import tempfile
import time
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import asdict, is_dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import filelock
import platformdirs

from bulletin import __version__
from bulletin.errors import BusyError, ConfigError, PublishError

#: Hidden temp files (``.NAME.XXXX.part``) older than this are leftovers of a run that was
#: killed with SIGKILL (or lost power) mid-write; the next write of the same output
#: removes them. An hour is far longer than any encode, so a live writer is never hit.
STALE_TEMP_SECONDS = 3600.0

#: Mode of a newly published file: readable by the web server, whatever mkstemp chose.
PUBLISHED_MODE = 0o644

_TEMP_SUFFIX = ".part"
_STATE_FORMAT = 1
_SLUG_MAX = 60
_SLUG_FALLBACK = "bulletin"
_TEMPLATE_FIELDS = frozenset({"date", "time", "slug", "voice", "engine"})


# --------------------------------------------------------------------------- atomic writes


def _temp_prefix(path: Path) -> str:
    return f".{path.name}."


def remove_stale_temp_files(path: Path, older_than: float = STALE_TEMP_SECONDS) -> int:
    """Remove leftover ``.NAME.*.part`` files of *path* older than *older_than* seconds.

    A process killed with SIGKILL cannot clean up after itself; its temp file stays behind
    (hidden, never in place of the real output). This sweeps such leftovers on the next
    run. Returns how many were removed; errors are ignored (it is housekeeping only).
    """
    folder = path.parent
    prefix = _temp_prefix(path)
    cutoff = time.time() - older_than
    removed = 0
    try:
        candidates = list(folder.iterdir())
    except OSError:
        return 0
    for candidate in candidates:
        name = candidate.name
        if not (name.startswith(prefix) and name.endswith(_TEMP_SUFFIX)):
            continue
        try:
            if candidate.lstat().st_mtime < cutoff:
                candidate.unlink()
                removed += 1
        except OSError:
            continue
    return removed


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
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temp path to write *path*'s new content to; publish it only on success.

    The temp file (``.NAME.XXXX.part``, hidden, already created and empty) lives in the
    target folder so the final :func:`os.replace` never crosses filesystems. On success
    it is fsynced, given the old file's mode (or 0644 for a new file, so a web server can
    read it) and renamed into place. On *any* exception, including ``KeyboardInterrupt``
    and ``SystemExit``, it is removed and the exception propagates; the old file is never
    touched. Note for ffmpeg callers: the name ends in ``.part``, so pass ``-f mp3`` and
    ``-y`` (the file already exists).

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
        _publish_temp(temp, path)
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


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Replace *path* with *data* atomically (see :func:`atomic_output`)."""
    with atomic_output(path) as temp:
        try:
            temp.write_bytes(data)
        except OSError as exc:
            raise PublishError(f"cannot write {path}: {exc.strerror or exc}") from exc


def write_text_atomic(path: Path, text: str, encoding: str = "utf-8") -> None:
    """Replace *path* with *text* atomically (UTF-8, ``\\n`` line ends on every OS)."""
    write_bytes_atomic(path, text.encode(encoding))


# --------------------------------------------------------------------------- output lock


def lock_paths(path: Path) -> tuple[Path, Path]:
    """The lock file and its holder-info sidecar for *path*: ``.NAME.lock``, ``.NAME.lock.json``.

    They sit next to the output (not in a per-user dir) so that runs by different users,
    or on different hosts sharing the folder, exclude each other too. Both are dotfiles;
    if the folder is served over HTTP, deny dotfiles there (the sidecar names a pid, host
    and command line) — e.g. nginx ``location ~ /\\. { deny all; }``.
    """
    path = Path(path)
    return path.with_name(f".{path.name}.lock"), path.with_name(f".{path.name}.lock.json")


def _holder_info() -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join(sys.argv)[:300],
        "bulletin": __version__,
    }


def _describe_holder(info_path: Path, patience: float = 1.0) -> str:
    """One phrase naming who holds a lock, from its sidecar; vague if that is unreadable.

    The holder writes the sidecar just after taking the lock, so a run that lost the race
    by a hair waits up to ``patience`` seconds for it to appear.
    """
    deadline = time.monotonic() + patience
    while True:
        try:
            info = json.loads(info_path.read_text(encoding="utf-8"))
            pid, host, started = info["pid"], info["host"], datetime.fromisoformat(info["started"])
            break
        except (OSError, ValueError, KeyError, TypeError):
            if time.monotonic() >= deadline:
                return "another run (holder unknown)"
            time.sleep(0.05)
    now = datetime.now(started.tzinfo)
    since = started.strftime("%H:%M:%S" if started.date() == now.date() else "%Y-%m-%d %H:%M:%S")
    command = info.get("command")
    tail = f" ({command})" if command else ""
    return f"pid {pid} on {host} since {since}{tail}"


@contextlib.contextmanager
def output_lock(path: Path, timeout: float) -> Iterator[Path]:
    """Hold the lock for publishing *path* for the duration of the ``with`` block.

    *timeout* is how long to wait, in seconds: ``0`` tries once, a negative value waits
    forever. If the lock is still taken after that, raise :class:`BusyError` naming the
    holder (pid, host, start time, command), which the CLI maps to exit 75.

    The lock is an OS lock (``flock`` via ``filelock``): if the holder dies, even by
    SIGKILL, the kernel releases it, so there are no stale locks to clean up by hand.
    For templated output names, lock something stable — the feed file, or the folder's
    ``.bulletin`` — since every run renders a different name. Yields the lock file path.
    """
    path = Path(path)
    lock_file, info_file = lock_paths(path)
    try:
        lock_file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PublishError(f"cannot create output folder {lock_file.parent}: {exc.strerror or exc}") from exc
    lock = filelock.FileLock(lock_file, timeout=timeout)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise BusyError(f"{path} is locked by {_describe_holder(info_file)}; try again later") from None
    except OSError as exc:
        raise PublishError(f"cannot lock {path}: {exc.strerror or exc}") from exc
    try:
        with contextlib.suppress(PublishError):  # the info is a courtesy; never fail the run for it
            write_text_atomic(info_file, json.dumps(_holder_info(), ensure_ascii=False) + "\n")
        yield lock_file
    finally:
        with contextlib.suppress(OSError):
            info_file.unlink()
        lock.release()


# --------------------------------------------------------------------------- output names


def slugify(title: str, max_length: int = _SLUG_MAX) -> str:
    """A file-name-safe slug of a headline; Chinese characters are kept as they are.

    Letters and digits of any script survive (``六邊會談明天在北京召開``) and ASCII is
    lower-cased. Runs of anything else — spaces, punctuation, path separators, control
    characters, dots — become one ``-`` (so no leading dot, no ``..``); invisible format
    characters (zero-width space) are dropped. Cut to *max_length* characters: at most
    240 UTF-8 bytes, within every filesystem's 255-byte name limit. Empty → "bulletin".
    """
    text = unicodedata.normalize("NFKC", title)
    out: list[str] = []
    for char in text:
        category = unicodedata.category(char)
        if category[0] in "LN" or (category[0] == "M" and out) or char == "_":
            out.append(char.lower() if char.isascii() else char)
        elif category == "Cf":  # zero-width and direction marks: invisible, so dropped
            continue
        elif out and out[-1] != "-":
            out.append("-")
    slug = "".join(out).strip("-_")[:max_length].rstrip("-_")
    return slug or _SLUG_FALLBACK


def _safe_component(value: str) -> str:
    """Make a voice/engine name safe inside a file name without changing normal names."""
    cleaned = "".join(
        "-" if char in "/\\" or unicodedata.category(char)[0] == "C" else char for char in value
    )
    return cleaned.lstrip(".") or "unknown"


def render_output_path(template: str, *, when: datetime, title: str, voice: str, engine: str) -> Path:
    """Fill an output template such as ``out/{date:%Y%m%d-%H%M}-{slug}.mp3``.

    Fields: ``date`` (a datetime; ``time`` is an alias; any strftime spec works),
    ``slug`` (of *title*, see :func:`slugify`), ``voice``, ``engine``. Attribute access and
    indexing are not allowed (``{date.year}`` → use ``{date:%Y}``). A template without
    fields is just a path. Unknown fields or bad syntax raise :class:`ConfigError`.
    """
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ConfigError(f"bad output template {template!r}: {exc}") from None
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if conversion is not None or (spec and "{" in spec):
            raise ConfigError(f"bad output template {template!r}: no !conversions or nested fields")
        if field not in _TEMPLATE_FIELDS:
            known = ", ".join(f"{{{name}}}" for name in sorted(_TEMPLATE_FIELDS))
            shown = f"{{{field}}}" if field else "{}"
            raise ConfigError(f"unknown field {shown} in output template {template!r}; use {known}")
    values = {
        "date": when,
        "time": when,
        "slug": slugify(title),
        "voice": _safe_component(voice),
        "engine": _safe_component(engine),
    }
    try:
        rendered = template.format_map(values)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise ConfigError(f"bad output template {template!r}: {exc}") from None
    if not rendered.strip() or rendered.endswith(("/", os.sep)):
        raise ConfigError(f"output template {template!r} does not name a file")
    return Path(rendered)


# --------------------------------------------------------------------------- skip unchanged


def default_state_dir() -> Path:
    """Where run state lives: ``$BULLETIN_STATE_DIR``, else the platform's user state dir."""
    override = os.environ.get("BULLETIN_STATE_DIR")
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_state_dir("bulletin", appauthor=False))


def output_key(template: str, cwd: Path | None = None) -> str:
    """The identity of an output across runs: its template, made absolute.

    Keyed on the template (not the rendered name), so ``out/{date:%H%M}.mp3`` is the same
    output every run while ``out/`` and ``/srv/out/`` from different folders are not.
    """
    base = Path(cwd) if cwd is not None else Path.cwd()
    return os.path.normpath(os.path.join(base, os.path.expanduser(template)))


def _json_default(value: object) -> object:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)


def fingerprint(cleaned_text: str, settings: Mapping[str, Any]) -> str:
    """A sha256 over the cleaned text, the settings that shape the audio, and our version.

    The bulletin version is part of it so an upgrade rebuilds once rather than trusting
    output made by older code.
    """
    payload = {
        "format": _STATE_FORMAT,
        "bulletin": __version__,
        "text": cleaned_text,
        "settings": dict(settings),
    }
    canonical = json.dumps(
        payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_json_default
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def file_digest(path: Path) -> tuple[int, str]:
    """(size, sha256 hex) of a file, read in blocks (bulletins can be tens of MB)."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


class RunState:
    """What the last successful run of each output produced, to skip unchanged work.

    One small JSON file per output key under *root* (default :func:`default_state_dir`).
    Unreadable records count as "no record" — the worst case is one unneeded rebuild.
    """

    fingerprint = staticmethod(fingerprint)

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_state_dir()

    def _record_path(self, key: str) -> Path:
        name = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
        return self.root / "runs" / f"{name}.json"

    def last_success(self, key: str) -> dict[str, Any] | None:
        """The record of the last successful run for *key*, or None."""
        try:
            record = json.loads(self._record_path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or record.get("key") != key or record.get("format") != _STATE_FORMAT:
            return None
        return record

    def record_success(
        self,
        key: str,
        fingerprint: str,
        output_path: Path,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Remember that *output_path* (already published) was made from *fingerprint*."""
        output_path = Path(output_path).absolute()
        try:
            size, sha256 = file_digest(output_path)
        except OSError as exc:
            raise PublishError(f"cannot read {output_path} to record it: {exc.strerror or exc}") from exc
        record = {
            "format": _STATE_FORMAT,
            "key": key,
            "fingerprint": fingerprint,
            "output": str(output_path),
            "size": size,
            "sha256": sha256,
            "recorded": datetime.now().astimezone().isoformat(timespec="seconds"),
            "extra": dict(extra or {}),
        }
        path = self._record_path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PublishError(f"cannot create state folder {path.parent}: {exc.strerror or exc}") from exc
        text = json.dumps(record, ensure_ascii=False, indent=2, default=_json_default) + "\n"
        write_text_atomic(path, text)
        return record

    def unchanged(self, key: str, fingerprint: str) -> dict[str, Any] | None:
        """The last record if nothing needs redoing, else None.

        Unchanged means the same fingerprint *and* the recorded output still exists with
        the same size and sha256 — so a deleted or edited output is rebuilt.
        """
        record = self.last_success(key)
        if record is None or record.get("fingerprint") != fingerprint:
            return None
        try:
            size, sha256 = file_digest(Path(record["output"]))
        except (OSError, KeyError, TypeError):
            return None
        if size != record.get("size") or sha256 != record.get("sha256"):
            return None
        return record

    def forget(self, key: str) -> bool:
        """Drop the record for *key* (``--force``); True if there was one."""
        try:
            self._record_path(key).unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise PublishError(f"cannot remove state for {key}: {exc.strerror or exc}") from exc
        return True
