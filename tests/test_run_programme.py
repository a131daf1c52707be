"""A programme as a library call: ``run_build`` with the in-memory engine (issue 21).

The programme file is read once per run, whatever asks for it (the options' check, the
run, the dry run); the fit, the mix and the report come from the same objects as a
bulletin's run (the run's maker).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from memory_engine import MemoryEngine
from mp3_duration import probe_duration

from bulletin.audio.settings import EncodeOptions
from bulletin.environment import Dirs
from bulletin.run.build import run_build
from bulletin.run.dry_run import dry_run_plan
from bulletin.run.options import BuildOptions, OutputOptions, ProgrammeOptions

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "programme" / "hourly.toml"
AIR = datetime(2026, 11, 26, 13, 0, tzinfo=timezone.utc)


def programme_options(out: Path, **output: object) -> BuildOptions:
    return BuildOptions(
        output=OutputOptions(path=str(out), encode=EncodeOptions(normalize=False), **output),  # type: ignore[arg-type]
        programme=ProgrammeOptions(file=str(EXAMPLE), air_time="21:00", timezone="Asia/Taipei"),
    )


@pytest.fixture
def reads(monkeypatch) -> list[Path]:
    """Every read of the example programme file, as the programme module makes them."""
    from bulletin.run.programme import file

    seen: list[Path] = []
    real = file.read_regular

    def counted(path, limit):
        if Path(path).resolve() == EXAMPLE.resolve():
            seen.append(Path(path))
        return real(path, limit)

    monkeypatch.setattr(file, "read_regular", counted)
    return seen


def test_the_programme_file_is_read_once_per_build(reads: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "hourly.mp3"
    engine = MemoryEngine(seconds_per_char=0.2)
    report = run_build(
        programme_options(out), engine=engine, dirs=Dirs.under(tmp_path / "dirs"), clock=lambda: AIR
    )
    assert report.exit_status == 0 and report.programme is not None
    assert len(reads) == 1
    assert abs(probe_duration(out) - 120) < 1.0  # fitted to its two-minute slot


def test_the_programme_file_is_read_once_per_dry_run(reads: list[Path], tmp_path: Path) -> None:
    plan = dry_run_plan(programme_options(tmp_path / "hourly.mp3"), engine=MemoryEngine(seconds_per_char=0.2))
    assert plan["programme"]["name"] == "焦點新聞" and plan["chunks"][0]["segment"] == "opener"
    assert len(reads) == 1


def test_the_cli_reads_the_programme_file_once(reads: list[Path], tmp_path: Path) -> None:
    from conftest import run_cli

    result = run_cli("build", "--programme", str(EXAMPLE), "--dry-run", "--json", "--engine", "offline")
    assert result.exit_code == 0, result.output
    assert len(reads) == 1
