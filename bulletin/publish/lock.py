"""One run per output at a time: an OS lock next to the output, naming its holder.

:func:`output_lock` takes a ``filelock`` lock next to the output; a second run that
cannot get it raises :class:`~bulletin.errors.BusyError` naming the holder, which the CLI
turns into exit 75 (cron: "try again later").
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import filelock

from bulletin import __version__
from bulletin.errors import BusyError, PublishError
from bulletin.files import json_text, write_text_atomic


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
            write_text_atomic(info_file, json_text(_holder_info()) + "\n")
        yield lock_file
    finally:
        with contextlib.suppress(OSError):
            info_file.unlink()
        lock.release()
