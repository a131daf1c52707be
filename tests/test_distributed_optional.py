"""The station group is invisible until asked for (issue 20): no broker, no Celery.

These run in the main suite (no redis-server, no worker); the real-process tests are in
tests/test_distributed.py, marked ``distributed``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent


def _without_broker() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "BULLETIN_BROKER"}
    return {**env, "PYTHONPATH": str(ROOT)}


def test_the_cli_does_not_import_celery_without_a_broker(tmp_path: Path) -> None:
    """A single-machine build, help for every command: celery, kombu and redis stay unloaded."""
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from bulletin.cli import main\n"
        "for args in (['--help'], ['build', '--help'], ['worker', '--help'], ['submit', '--help'],\n"
        "             ['schedule', '--help'], ['status', '--help']):\n"
        "    r = CliRunner().invoke(main, args)\n"
        "    assert r.exit_code == 0, (args, r.output)\n"
        "r = CliRunner().invoke(main, ['build', '--dry-run', '--engine', 'offline', sys.argv[1]])\n"
        "assert r.exit_code == 0, r.output\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('celery', 'kombu', 'redis'))\n"
        "print(','.join(loaded) or 'none')\n"
    )
    sample = ROOT / "examples" / "six-party-talks.txt"
    done = subprocess.run(
        [sys.executable, "-c", code, str(sample)],
        env=_without_broker(),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "none"


@pytest.mark.parametrize("command", [["worker"], ["status"], ["submit", "x.toml", "--air-time", "21:00"]])
def test_a_station_command_without_a_broker_is_one_line(command: list[str], monkeypatch) -> None:
    monkeypatch.delenv("BULLETIN_BROKER", raising=False)
    result = run_cli(*command)
    assert result.exit_code == 2
    assert "BULLETIN_BROKER" in result.output and len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_a_station_command_without_the_extra_says_how_to_install_it(monkeypatch) -> None:
    import bulletin.distributed

    monkeypatch.setenv("BULLETIN_BROKER", "redis://127.0.0.1:1/0")
    monkeypatch.setattr(
        bulletin.distributed, "find_spec", lambda name: None if name == "celery" else object()
    )
    result = run_cli("status")
    assert result.exit_code == 2
    assert result.output.strip() == (
        "bulletin: error: celery not installed: pip install 'bulletin[distributed]' for a station group"
    )
