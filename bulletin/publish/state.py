"""Don't redo work: what the last successful run of each output produced (skip unchanged).

:class:`RunState` remembers, per output, the fingerprint of the text and settings that
made it, so an unchanged article with unchanged settings is not re-published, and which
stories it aired (a digest of each sentence), so the next edition can rotate them.

The records are files in the state folder, unless the run is handed :class:`Records`
elsewhere: a station group keeps them in Redis, so any worker can publish any programme
and still know what its last edition was.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, is_dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bulletin import __version__
from bulletin.errors import PublishError
from bulletin.files import StateStore, file_digest, json_text, read_regular, write_text_atomic

_STATE_FORMAT = 1
#: A record is a few hundred bytes; anything near this is not one of ours.
_MAX_RECORD = 1 << 20


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
    return hashlib.sha256(canonical.encode("utf-8", "surrogateescape")).hexdigest()


def _why(exc: Exception) -> str:
    return (exc.strerror or str(exc)) if isinstance(exc, OSError) else f"not JSON: {exc}"


#: The shape of a record: key → type. ``extra`` holds the companions of the bulletin.
_RECORD_TYPES: dict[str, type | tuple[type, ...]] = {
    "format": int,
    "key": str,
    "fingerprint": str,
    "output": str,
    "size": int,
    "sha256": str,
    "extra": dict,
}
_EXTRA_TYPES: dict[str, type | tuple[type, ...]] = {
    "engine": str,
    "duration": (int, float),
    "subtitles": dict,
    "feed": dict,
    "aired": list,
}


def _record_problem(record: object) -> str | None:
    """What is wrong with a parsed record (None: it has the shape this code reads)."""
    if not isinstance(record, dict):
        return "not a JSON object"
    if record.get("format") != _STATE_FORMAT:
        return f"format {record.get('format')!r}, not {_STATE_FORMAT}"
    missing = [name for name in _RECORD_TYPES if name not in record]
    if missing:
        return f"no {missing[0]!r}"
    for fields, where in ((_RECORD_TYPES, record), (_EXTRA_TYPES, record["extra"])):
        if not isinstance(where, dict):
            return "'extra' is not an object"
        for name, kind in fields.items():
            value = where.get(name, None)
            if name in where and (not isinstance(value, kind) or isinstance(value, bool)):
                return f"{name!r} is {type(value).__name__}"
    return None


def aired_in(record: Mapping[str, Any] | None) -> tuple[tuple[str, ...], ...]:
    """The sentence digests of each story a record says was aired, in order (none if it says none)."""
    aired = ((record or {}).get("extra") or {}).get("aired")
    if not isinstance(aired, list):
        return ()
    return tuple(tuple(s for s in story if isinstance(s, str)) for story in aired if isinstance(story, list))


#: Where run records live when not in the state folder (a station group's Redis): the one
#: protocol for what runs keep, shared with the sources' caches.
Records = StateStore


class RunState:
    """What the last successful run of each output produced, to skip unchanged work.

    One small JSON file per output key under *root* (the state folder the run was handed).
    Unreadable records count as "no record" — the worst case is one unneeded rebuild.
    """

    fingerprint = staticmethod(fingerprint)

    def __init__(
        self, root: Path, warn: Callable[[str], None] | None = None, records: Records | None = None
    ) -> None:
        self.root = Path(root)
        self._warn = warn or (lambda message: None)
        self.records = records

    def _record_path(self, key: str) -> Path:
        name = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32]
        return self.root / "runs" / f"{name}.json"

    def last_success(self, key: str) -> dict[str, Any] | None:
        """The record of the last successful run for *key*, or None.

        A record that is missing is None; one that is damaged (not JSON, wrong types, a FIFO
        or device in its place, huge) is None too, with a warning: it costs one rebuild, and
        the rebuild's record replaces it.
        """
        path = self._record_path(key)
        try:
            raw = (
                read_regular(path, _MAX_RECORD)
                if self.records is None
                else self.records.read(path.name, _MAX_RECORD)
            )
            if raw is None:
                return None
            if len(raw) > _MAX_RECORD:
                raise ValueError(f"over {_MAX_RECORD} bytes")
            record = json.loads(raw.decode("utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, RecursionError) as exc:  # RecursionError: nested too deep
            if self.records is not None or path.parent.is_dir():  # a state folder that is not one: on write
                where = path if self.records is None else f"{path.name} (shared)"
                self._warn(f"ignoring the damaged run record {where} ({_why(exc)}); rebuilding")
            return None
        problem = _record_problem(record)
        if problem is None and record["key"] != key:
            problem = "it is another output's"
        if problem is not None:
            self._warn(f"ignoring the damaged run record {path} ({problem}); rebuilding")
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
        text = json_text(record, indent=2, default=_json_default) + "\n"
        if self.records is not None:
            self.records.write(path.name, text.encode("utf-8"))
            return record
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PublishError(f"cannot create state folder {path.parent}: {exc.strerror or exc}") from exc
        write_text_atomic(path, text)
        return record

    def last_aired(self, key: str) -> tuple[tuple[str, ...], ...]:
        """What the last edition of *key* aired: each story's sentence digests, in aired order."""
        return aired_in(self.last_success(key))

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
