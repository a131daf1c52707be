"""The run report (``--report FILE``): what a run read, did, produced, and how it ended.

Producers look at it after a cron run went wrong, so it must be writable at every
point of a run — after a failure in reading, in synthesis, or while publishing — and
every field is therefore optional. :func:`bulletin.run.build.run_build` fills it in
stage by stage, writes it in a ``finally`` and returns it.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bulletin import __version__
from bulletin.files import json_text, write_text_atomic


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


@dataclass
class InputInfo:
    """One input file as read (the sha256 identifies exactly which version was used)."""

    path: str | None = None
    encoding: str | None = None
    sha256: str | None = None
    bytes: int | None = None


@dataclass
class ChunkStats:
    """How the chunks were obtained: ``synthesized + cached == total`` on success."""

    total: int = 0
    synthesized: int = 0
    cached: int = 0
    retries: int = 0

    def add(self, other: ChunkStats) -> None:
        """Count ``other``'s chunks in too (a programme synthesizes in rounds)."""
        self.total += other.total
        self.synthesized += other.synthesized
        self.cached += other.cached
        self.retries += other.retries


@dataclass
class OutputInfo:
    """The published file."""

    path: str | None = None
    size: int | None = None
    duration_seconds: float | None = None


@dataclass
class RunReport:
    """Everything about one run; fill in what is known, :meth:`write` whenever needed."""

    bulletin_version: str = __version__
    started: str = field(default_factory=_now)
    finished: str | None = None
    exit_status: int | None = None
    inputs: list[InputInfo] = field(default_factory=list)
    #: e.g. {"paragraphs": 2, "stories": 1} — what dedupe removed.
    removed_duplicates: dict[str, int] = field(default_factory=dict)
    #: Articles about the same event read as one story: the one kept, the others and their
    #: similarity (``bulletin.text.fold.Fold.to_dict``).
    folded: list[dict[str, Any]] = field(default_factory=list)
    engine_requested: str | None = None
    engine_used: str | None = None
    fallback_reason: str | None = None
    #: VoiceSettings as a dict (engine, voice, rate, volume, pitch).
    voice: dict[str, Any] | None = None
    chunks: ChunkStats = field(default_factory=ChunkStats)
    #: Seconds per stage, e.g. {"read": 0.01, "synthesize": 12.3, "assemble": 1.2}.
    durations: dict[str, float] = field(default_factory=dict)
    #: e.g. {"integrated_lufs": -16.1, "true_peak_dbtp": -1.4, "target_lufs": -16.0,
    #: "encodes": 1} (encodes: how many it took to meet the targets, at most 3).
    loudness: dict[str, float] | None = None
    output: OutputInfo = field(default_factory=OutputInfo)
    #: Words and characters the voice could not say and skipped (``iPhone``, ``㘃``), in order.
    unspoken: list[str] = field(default_factory=list)
    #: Set when the run was skipped because nothing changed (the earlier output's path).
    skipped_unchanged: str | None = None
    #: How each source went: {"source", "kind", "status", "error", "items", "skipped", "warnings"}.
    sources: list[dict[str, Any]] = field(default_factory=list)
    #: True when the sources held no new story (since ``--since``): nothing was published.
    no_new_stories: bool = False
    errors: list[str] = field(default_factory=list)
    #: A programme's fit: slot, length, stories aired and dropped, pause scale, tempo,
    #: seconds the news was short by (and how many the closing bed filled), the headlines.
    programme: dict[str, Any] | None = None
    #: The rundown, story by story: rank, sources that carried it, pinned, new/updated/
    #: repeated, budget, seconds aired, sentences kept and dropped, or why it was left out.
    rundown: list[dict[str, Any]] = field(default_factory=list)

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time a stage into :attr:`durations` (also when it fails; repeated stages add up)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            self.durations[name] = round(self.durations.get(name, 0.0) + elapsed, 3)

    def fail(self, message: str) -> None:
        """Note an error message (one line, as shown to the user)."""
        self.errors.append(message)

    def finish(self, exit_status: int) -> None:
        """Stamp the end of the run and how it ended."""
        self.exit_status = exit_status
        self.finished = _now()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (Paths and other odd values become strings)."""
        return json.loads(json.dumps(asdict(self), default=str, ensure_ascii=False))

    def write(self, path: Path) -> None:
        """Write the report as pretty UTF-8 JSON, atomically (folders are created).

        Raises :class:`~bulletin.errors.PublishError` if that fails; a CLI writing the
        report in a ``finally`` should not let that hide the run's own error.
        """
        text = json_text(self.to_dict(), indent=2) + "\n"
        write_text_atomic(Path(path), text)
