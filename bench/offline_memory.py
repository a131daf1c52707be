"""Peak memory and stage times of a whole offline build: the 2-minute sample and a ~60-minute bulletin.

Usage: python bench/offline_memory.py [--minutes 60] [--keep DIR]

Runs ``bulletin build ARTICLE --engine offline --no-cache --force --report R.json``
as a child process, twice: on examples/six-party-talks.txt (~2 min of speech) and
on a generated article of about ``--minutes`` minutes. The long article repeats the
sample's sentences with different numbers and a numbered lead-in, so the dedupe stage
keeps every one of them (the script checks the dry run's estimated duration before
building). Each build gets its own empty ``BULLETIN_CACHE_DIR`` and
``BULLETIN_STATE_DIR``, so nothing is reused between them or from earlier runs.

Peak RSS is ``ru_maxrss`` from ``wait4`` on that one child: the largest resident set of
the build or of any process it waited for (ffmpeg), like ``/usr/bin/time -v``'s
"Maximum resident set size". Stage seconds come from the report (``stages``, or
``durations`` in older reports). Prints a table and the ratios the memory work is
judged by: assembly/synthesis seconds, and 60-minute peak / 2-minute peak (target
<= 1.2). Not a test: nothing is asserted. The machine has 2 shared, noisy cores, so
compare numbers within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "six-party-talks.txt"
BULLETIN = [sys.executable, "-m", "bulletin"]


@dataclass
class Build:
    """What one build cost."""

    label: str
    peak_mb: float
    wall_s: float
    audio_s: float
    stages: dict[str, float]


def _cli() -> list[str]:
    """The ``bulletin`` command of this interpreter's environment (console script if present)."""
    script = Path(sys.executable).with_name("bulletin")
    return [str(script)] if script.exists() else BULLETIN


def _env(scratch: Path) -> dict[str, str]:
    """Fresh cache and state folders: nothing may come from an earlier build."""
    env = dict(os.environ)
    for name in ("BULLETIN_CACHE_DIR", "BULLETIN_STATE_DIR"):
        folder = scratch / name.lower()
        folder.mkdir(parents=True, exist_ok=True)
        env[name] = str(folder)
    return env


def dry_run(article: Path, scratch: Path) -> dict[str, object]:
    """The build's plan (``--dry-run --json``): chunks and estimated seconds."""
    out = subprocess.run(
        [*_cli(), "build", str(article), "--engine", "offline", "--dry-run", "--json"],
        env=_env(scratch),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def long_article(minutes: float, scratch: Path) -> Path:
    """An article of about ``minutes`` of speech made of *different* sentences.

    Round ``k`` repeats the sample's (deduplicated) sentences with every number
    replaced by one derived from ``k`` and a numbered lead-in, one paragraph per round,
    so no sentence or clause repeats exactly. The number of rounds comes from the dry
    run's estimate for one round (the lead-ins make a round longer than the sample).
    """
    plan = dry_run(SAMPLE, scratch / "plan")
    sentences = [str(c["text"]) for c in plan["chunks"]]  # type: ignore[index]

    def paragraph(k: int) -> str:
        lines = []
        for n, sentence in enumerate(sentences):
            shift = k * 7 + n
            varied = re.sub(r"\d+", lambda m, shift=shift: str(int(m.group()) + shift), sentence)
            lines.append(f"第{k + 1}輪第{n + 1}則，{varied}")
        return "".join(lines)

    article = scratch / f"long-{minutes:g}min.txt"
    article.write_text(paragraph(0) + "\n", encoding="utf-8")
    per_round = float(dry_run(article, scratch / "plan")["estimated_seconds"])  # type: ignore[arg-type]
    rounds = max(1, round(minutes * 60 / per_round))
    article.write_text("\n\n".join(paragraph(k) for k in range(rounds)) + "\n", encoding="utf-8")
    return article


def build(label: str, article: Path, scratch: Path) -> Build:
    """Run one full offline build as a child; its own peak RSS via ``wait4``."""
    scratch.mkdir(parents=True, exist_ok=True)
    report = scratch / "report.json"
    log = scratch / "stderr.txt"
    command = [
        *_cli(),
        "build",
        str(article),
        "--engine",
        "offline",
        "-o",
        str(scratch / "out.mp3"),
        "--no-cache",
        "--force",
        "--report",
        str(report),
        "-q",
    ]
    start = time.perf_counter()
    with log.open("wb") as err:
        child = subprocess.Popen(command, env=_env(scratch), stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if child.returncode != 0:
        raise SystemExit(f"{label}: build failed ({child.returncode}): {log.read_text()[-2000:]}")
    data = json.loads(report.read_text(encoding="utf-8"))
    stages = data.get("stages") or data.get("durations") or {}
    audio = float((data.get("output") or {}).get("duration_seconds") or 0.0)
    return Build(label, usage.ru_maxrss / 1024, wall, audio, {k: float(v) for k, v in stages.items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the long bulletin")
    parser.add_argument("--keep", type=Path, help="keep the scratch folders (articles, MP3s, reports) here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="offline-memory-") as tmp:
        scratch = args.keep or Path(tmp)
        scratch.mkdir(parents=True, exist_ok=True)
        article = long_article(args.minutes, scratch / "gen")
        plan = dry_run(article, scratch / "gen")
        estimated = float(plan["estimated_seconds"])  # type: ignore[arg-type]
        print(
            f"long article: {len(plan['chunks'])} chunks, dry run estimates "  # type: ignore[arg-type]
            f"{estimated / 60:.1f} min (wanted {args.minutes:g})"
        )
        results = [
            build("2-min sample", SAMPLE, scratch / "short"),
            build(f"{args.minutes:g}-min generated", article, scratch / "long"),
        ]

    print()
    header = ("peak RSS MB", "audio min", "wall s", "synth s", "assem s", "RTF synth", "assem/synth")
    print(f"{'build':22s} " + " ".join(f"{h:>11s}" for h in header))
    for r in results:
        synth, assem = r.stages.get("synthesize", 0.0), r.stages.get("assemble", 0.0)
        rtf = synth / r.audio_s if r.audio_s else float("nan")
        ratio = assem / synth if synth else float("nan")
        cells = (
            f"{r.peak_mb:.0f}",
            f"{r.audio_s / 60:.1f}",
            f"{r.wall_s:.1f}",
            f"{synth:.1f}",
            f"{assem:.1f}",
        )
        print(f"{r.label:22s} " + " ".join(f"{c:>11s}" for c in (*cells, f"{rtf:.3f}", f"{ratio:.2f}")))
    short, long = results
    print()
    print(f"peak RSS, long / short: {long.peak_mb / short.peak_mb:.2f}  (target <= 1.2)")
    print(f"peak RSS, short build: {short.peak_mb:.0f} MB  (target <= 450)")


if __name__ == "__main__":
    main()
