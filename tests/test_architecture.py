"""The layers of ARCHITECTURE.md, kept by a machine: import-linter's contract in pyproject.toml."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [sys.executable, "-c", "import sys, importlinter.cli as c; sys.exit(c.lint_imports())"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_layers_are_kept() -> None:
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_upward_import_breaks_the_build(tmp_path: Path) -> None:
    """The contract is not vacuous: an engine that imports the run layer is caught."""
    shutil.copytree(REPO / "bulletin", tmp_path / "bulletin", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    base = tmp_path / "bulletin" / "engines" / "base.py"
    upward = base.read_text(encoding="utf-8") + "\nimport bulletin.run.build  # noqa\n"
    base.write_text(upward, encoding="utf-8")
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "bulletin.engines.base -> bulletin.run.build" in result.stdout


def test_only_the_environment_module_reads_the_environment() -> None:
    readers = [
        str(path.relative_to(REPO))
        for path in (REPO / "bulletin").rglob("*.py")
        if any(token in path.read_text(encoding="utf-8") for token in ("os.environ", "os.getenv"))
    ]
    assert readers == ["bulletin/environment.py"]


def test_sources_sit_between_run_and_text(tmp_path: Path) -> None:
    """Sources may import text (``Article``, detection), not the run above nor the engines beside text."""
    shutil.copytree(REPO / "bulletin", tmp_path / "bulletin", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    pages = tmp_path / "bulletin" / "sources" / "pages.py"
    extra = "\nimport bulletin.run.build  # noqa\nimport bulletin.engines.base  # noqa\n"
    pages.write_text(pages.read_text(encoding="utf-8") + extra, encoding="utf-8")
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "bulletin.sources.pages -> bulletin.run.build" in result.stdout
    assert "bulletin.sources.pages -> bulletin.engines.base" in result.stdout


def test_the_public_api_is_declared_and_loads_lazily() -> None:
    """``bulletin.__all__`` names the run, the options, the engine interface, the report and the
    errors; each resolves, and ``import bulletin`` alone loads none of them."""
    import sys

    code = (
        "import sys, bulletin\n"
        "assert not any(m.startswith('bulletin.') for m in sys.modules), sorted(sys.modules)\n"
        "for name in bulletin.__all__: getattr(bulletin, name)\n"
        "print(len(bulletin.__all__))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    import bulletin

    for name in ("run_build", "BuildOptions", "SourceOptions", "Engine", "RunReport", "BulletinError"):
        assert name in bulletin.__all__
    assert set(bulletin.__all__) == {"__version__", *bulletin._PUBLIC}


def test_the_run_uses_only_the_engines_public_surface(tmp_path: Path) -> None:
    """The run and the CLI import ``bulletin.engines`` and its ``base``, never an engine's insides."""
    shutil.copytree(REPO / "bulletin", tmp_path / "bulletin", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    build = tmp_path / "bulletin" / "run" / "build.py"
    extra = "\nimport bulletin.engines.offline.kokoro.store  # noqa\n"
    build.write_text(build.read_text(encoding="utf-8") + extra, encoding="utf-8")
    cli = tmp_path / "bulletin" / "cli.py"
    voices = "\nimport bulletin.engines.voices  # noqa\n"
    cli.write_text(cli.read_text(encoding="utf-8") + voices, encoding="utf-8")
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "bulletin.run.build -> bulletin.engines.offline.kokoro.store" in result.stdout
    assert "bulletin.cli -> bulletin.engines.voices" in result.stdout
