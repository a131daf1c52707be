"""Don't redo work: what the last successful run of each output produced (skip unchanged).

:class:`RunState` remembers, per output, the fingerprint of the text and settings that
made it, so an unchanged article with unchanged settings is not re-published.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bulletin import __version__
from bulletin.errors import PublishError
from bulletin.files import file_digest, write_text_atomic

_STATE_FORMAT = 1


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


class RunState:
    """What the last successful run of each output produced, to skip unchanged work.

    One small JSON file per output key under *root* (the state folder the run was handed).
    Unreadable records count as "no record" — the worst case is one unneeded rebuild.
    """

    fingerprint = staticmethod(fingerprint)

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

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
