"""Content-addressed cache of synthesized chunks.

Hourly bulletins repeat most of their text (the same stories, the same sign-off), and
speech synthesis is the slow, rate-limited, sometimes failing part of a run. So every
clip is stored under a key derived from *everything that changes how it sounds*: the
engine and its version, the voice settings, and the exact spoken text. Same key, same
audio — a hit is safe to reuse without asking the engine.

Layout: ``ROOT/v1/ab/abcdef….clip``, sharded by key prefix so no folder gets huge. One
file per entry holds a small header (format, boundaries, length), the audio bytes and a
sha256 of all of it; a file whose checksum or header does not add up is a miss and is
removed (an edited header is as corrupt as an edited clip). Entries are written to a
temp file in the shard and hard-linked into place, which never replaces an entry: the
first writer of a key wins, so concurrent runs or a station group's workers sharing the
cache (two cron jobs, an NFS folder) only ever see whole entries, and an entry once read
never changes under its reader. Where hard links are not allowed, the temp file is
renamed into place instead (the last writer wins; same key, same sound).

The cache may also live in an object store (``BULLETIN_CACHE_URL=s3://bucket/prefix``,
:mod:`bulletin.run.cache_s3`), with the same entries and the same write-if-absent rule;
:func:`open_cache` picks one from the run's folders.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import struct
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bulletin.engines.base import Boundary, Clip, VoiceSettings
from bulletin.environment import Dirs

log = logging.getLogger(__name__)

#: Bump when the key recipe or the entry layout changes; old entries are then ignored
#: (they live in another ``vN`` folder) and ``bulletin cache clear`` removes them.
CACHE_FORMAT = 2

_MAGIC = f"BULLETIN-CLIP-{CACHE_FORMAT}\n".encode("ascii")
_HEADER_LEN = struct.Struct(">I")
_MAX_HEADER = 16 << 20
_SUFFIX = ".clip"


#: The shelf for whole assembled bulletins (next to the two-letter shards of the clips).
BULLETINS = "bulletins"
#: How many assembled bulletins are kept (the most recently used).
KEEP_BULLETINS = 8


@dataclass(frozen=True)
class CacheInfo:
    """What ``bulletin cache info`` shows."""

    path: Path | str  # a folder, or an object store's URL
    entries: int
    bytes: int


class ClipCache:
    """A folder of cached clips, safe to share between processes.

    Never a reason for a run to fail: a broken entry is a miss, and a failed write is
    logged and skipped (the clip was synthesized; the run goes on without caching it).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._dir = self.root / f"v{CACHE_FORMAT}"

    # ----------------------------------------------------------------- keys and paths

    @staticmethod
    def key(engine_version: str, voice: VoiceSettings, spoken: str) -> str:
        """The sha256 hex key of one chunk: canonical JSON of all that shapes its sound."""
        payload = {
            "cache_format": CACHE_FORMAT,
            "engine": voice.engine,
            "engine_version": engine_version,
            "voice": voice.voice,
            "rate": voice.rate,
            "volume": voice.volume,
            "pitch": voice.pitch,
            "spoken": spoken,
        }
        canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def _path(self, key: str, shelf: str | None = None) -> Path:
        if len(key) < 8 or not all(c in "0123456789abcdef" for c in key):
            raise ValueError(f"not a cache key: {key!r}")
        return self._dir / (shelf or key[:2]) / f"{key}{_SUFFIX}"

    # ----------------------------------------------------------------- read

    def get(self, key: str) -> Clip | None:
        """The cached clip for *key*, or None. Corrupt or partial entries are removed."""
        entry = self.get_entry(key)
        return None if entry is None else _clip(*entry)

    def has(self, key: str) -> bool:
        """Is there an entry for *key*? (Cheap: not read or verified; :meth:`get` does that.)"""
        return self._path(key).is_file()

    def get_entry(self, key: str, *, shelf: str | None = None) -> tuple[dict[str, Any], bytes] | None:
        """The header and data stored under *key*, or None. Corrupt or partial entries are removed.

        ``shelf`` keeps a kind of entry in its own folder (see :data:`BULLETINS`).
        """
        path = self._path(key, shelf)
        try:
            with open(path, "rb") as handle:
                raw = handle.read()
                inode = os.fstat(handle.fileno()).st_ino
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("cache: cannot read %s: %s", path, exc)
            return None
        entry = _decode(raw)
        if entry is None:
            log.warning("cache: removing corrupt entry %s", path)
            self._remove_if_same(path, inode)
        else:
            with contextlib.suppress(OSError):
                os.utime(path)  # last use, for `bulletin cache clear --older-than`
        return entry

    @staticmethod
    def _remove_if_same(path: Path, inode: int) -> None:
        """Remove *path* unless another process has just replaced it with a good entry."""
        with contextlib.suppress(OSError):
            if os.stat(path).st_ino == inode:
                path.unlink()

    # ----------------------------------------------------------------- write

    def put(self, key: str, clip: Clip) -> bool:
        """Store *clip* under *key* atomically; False (and a log line) if it could not be."""
        header = {"format": clip.format, "boundaries": [asdict(b) for b in clip.boundaries]}
        return self.put_entry(key, clip.data, header)

    def put_entry(
        self, key: str, data: bytes, header: Mapping[str, Any], *, shelf: str | None = None
    ) -> bool:
        """Store *data* with a JSON-able *header* under *key* atomically (False if it could not be).

        Besides clips, the build stores whole assembled bulletins this way, so that a
        re-run with every chunk cached does not decode, measure and encode again.
        """
        path = self._path(key, shelf)
        try:
            _write_if_absent(path, _encode(data, header))
        except OSError as exc:
            log.warning("cache: cannot store %s: %s", path, exc.strerror or exc)
            return False
        return True

    # ----------------------------------------------------------------- housekeeping

    def info(self) -> CacheInfo:
        """Count entries and their bytes (temp files of running writers are not counted)."""
        entries = 0
        total = 0
        for path in self._entries():
            with contextlib.suppress(OSError):
                total += path.stat().st_size
                entries += 1
        return CacheInfo(path=self.root, entries=entries, bytes=total)

    def clear(self) -> int:
        """Remove every entry (all cache formats, and leftover temp files); return how many entries."""
        removed = 0
        if not self.root.is_dir():
            return 0
        for version_dir in self.root.glob("v[0-9]*"):
            if not version_dir.is_dir():
                continue
            removed += sum(1 for _ in version_dir.glob(f"*/*{_SUFFIX}"))
            shutil.rmtree(version_dir, ignore_errors=True)
        return removed

    def prune(self, older_than_seconds: float) -> int:
        """Remove entries not used (read or written) for ``older_than_seconds``; return how many.

        Hourly bulletins add new stories every run, so without pruning the cache only grows;
        a daily ``bulletin cache clear --older-than 30`` keeps what is still being reused.
        """
        cutoff = time.time() - older_than_seconds
        removed = 0
        for path in self._entries():
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
        return removed

    def keep_newest(self, shelf: str, count: int) -> int:
        """Keep only the ``count`` most recently used entries on ``shelf``; return how many went.

        Whole bulletins are big (a 60-minute one is ~29 MB) and an hourly job makes a new one
        every run; only the last few are worth keeping for a re-run.
        """
        folder = self._dir / shelf
        if not folder.is_dir():
            return 0
        entries = []
        for path in folder.glob(f"*{_SUFFIX}"):
            with contextlib.suppress(OSError):
                entries.append((path.stat().st_mtime, path))
        entries.sort(reverse=True)
        removed = 0
        for _, path in entries[count:]:
            with contextlib.suppress(OSError):
                path.unlink()
                removed += 1
        return removed

    def _entries(self) -> list[Path]:
        if not self._dir.is_dir():
            return []
        return [p for p in self._dir.glob(f"*/*{_SUFFIX}") if not p.name.startswith(".")]


def _write_if_absent(path: Path, data: bytes) -> None:
    """Write ``path`` whole, unless it exists: a hidden temp file beside it, hard-linked into place.

    ``os.link`` is atomic and never replaces (on NFS too), so the first writer's entry
    stays. No fsync: after a crash a torn entry fails its checksum and is just a miss.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        try:
            os.link(temp, path)
        except FileExistsError:
            pass  # another writer's entry for the same key: kept
        except OSError:  # no hard links on this filesystem: a rename, which may replace
            os.replace(temp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)


def open_cache(dirs: Dirs) -> ClipCache:
    """The run's chunk cache: in the object store ``dirs.cache_url`` names, else the folder."""
    if dirs.cache_url:
        from bulletin.run.cache_s3 import S3ClipCache

        return S3ClipCache.from_url(dirs.cache_url)
    return ClipCache(dirs.cache)


# --------------------------------------------------------------------------- entry format
#
#   MAGIC | u32 header length | header JSON (utf-8) | audio bytes | sha256 of all before it
#
# The checksum covers the whole entry, header included, so truncation, bit rot and an
# edited header (``"format": "mp2"``) are all caught.

_DIGEST_LEN = hashlib.sha256().digest_size


def _encode(data: bytes, header: Mapping[str, Any]) -> bytes:
    full = {**header, "length": len(data)}
    head = json.dumps(full, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    body = _MAGIC + _HEADER_LEN.pack(len(head)) + head + data
    return body + hashlib.sha256(body).digest()


def _clip(header: dict[str, Any], data: bytes) -> Clip | None:
    """The clip an entry holds; None if it holds something else (a miss, never a crash)."""
    try:
        boundaries = tuple(
            Boundary(kind=b["kind"], text=b["text"], offset=float(b["offset"]), duration=float(b["duration"]))
            for b in header["boundaries"]
        )
        fmt = header["format"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(fmt, str) or not fmt:
        return None
    return Clip(data=data, format=fmt, boundaries=boundaries, retries=0, meta={"cached": True})


def _decode(raw: bytes) -> tuple[dict[str, Any], bytes] | None:
    """Parse an entry into (header, data); None if anything about it is off (never raises)."""
    try:
        body, digest = raw[:-_DIGEST_LEN], raw[-_DIGEST_LEN:]
        if not body.startswith(_MAGIC) or hashlib.sha256(body).digest() != digest:
            return None
        offset = len(_MAGIC)
        (head_len,) = _HEADER_LEN.unpack_from(body, offset)
        offset += _HEADER_LEN.size
        if head_len > _MAX_HEADER or offset + head_len > len(body):
            return None
        header = json.loads(body[offset : offset + head_len].decode("utf-8"))
        data = body[offset + head_len :]
        if not isinstance(header, dict) or len(data) != header["length"]:
            return None
        return header, data
    except (ValueError, KeyError, TypeError, struct.error, UnicodeDecodeError):
        return None
