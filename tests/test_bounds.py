"""Bounded everything (issue 12, item 3): a service that sends an hour of audio for one
sentence, and inputs that never end, cost bounded memory and end in one line."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

from conftest import ROOT
from conftest import run_cli as run
from mp3_duration import probe_duration

SENTENCE = "六方會談今天在北京舉行。\n"
#: Far above what these runs need (~150 MB), far below an hour of audio decoded (1-5 GB).
MEMORY_BOUND_MB = 400


def test_an_hour_of_audio_for_one_sentence_is_refused_and_retried(edge, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(SENTENCE, encoding="utf-8")
    edge.set_fault("endless_audio", times=1)
    report = tmp_path / "report.json"
    args = ("--engine", "edge", "-o", str(tmp_path / "a.mp3"), "--report", str(report))
    result = run("build", str(tmp_path / "a.txt"), *args)
    assert result.exit_code == 0, result.output
    assert json.loads(report.read_text(encoding="utf-8"))["chunks"]["retries"] == 1 and edge.requests == 2
    assert probe_duration(tmp_path / "a.mp3") < 5


def test_a_service_that_always_sends_too_much_fails_the_run(edge, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(SENTENCE, encoding="utf-8")
    edge.set_fault("endless_audio", times=None)
    out = tmp_path / "a.mp3"
    result = run("build", str(tmp_path / "a.txt"), "--engine", "edge", "-o", str(out))
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1].startswith("bulletin: error:")
    assert "too much audio" in result.stderr and not out.exists()


def peak_mb(args: list[str], env: dict[str, str]) -> tuple[int, float]:
    """Exit code and peak resident memory (MB) of ``bulletin ARGS`` in its own process."""
    code = (
        "import resource, subprocess, sys\n"
        "rc = subprocess.call(sys.argv[1:])\n"
        "print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, sys.executable, "-m", "bulletin", *args],
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=240,
    )
    rc, mb = done.stdout.split()
    return int(rc), float(mb)


def test_memory_stays_bounded_on_dev_zero_and_on_an_hour_of_audio(edge, tmp_path: Path) -> None:
    assert resource.getrlimit(resource.RLIMIT_AS)  # measured as peak RSS of a child process
    (tmp_path / "a.txt").write_text(SENTENCE, encoding="utf-8")
    env = dict(os.environ)
    rc, mb = peak_mb(["clean", "/dev/zero"], env)
    assert rc == 2 and mb < MEMORY_BOUND_MB
    edge.set_fault("endless_audio", times=None)
    rc, mb = peak_mb(
        ["build", str(tmp_path / "a.txt"), "--engine", "edge", "-o", str(tmp_path / "a.mp3")], env
    )
    assert rc == 1 and mb < MEMORY_BOUND_MB, mb
