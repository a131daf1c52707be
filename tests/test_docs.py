"""The documentation a newcomer reads stays whole: a short README that links every page of
``docs/``, and links, anchors, paths and module names that all point at something real.

Why a test: the README grew to 838 lines and its layer table drifted from ARCHITECTURE.md.
Now each fact has one place and the README only points at them, so what can drift is the
pointing; this checks it on every run, in well under a second (files only, no imports).
"""

from __future__ import annotations

import ast
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
README_MAX_LINES = 200

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_LINK = re.compile(r"!?\[[^\]]*\]\(<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\)")
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
#: What a repository path written in backticks starts with (``in/`` or ``public/`` in a
#: cron line are the reader's folders, not ours).
_REPO_DIRS = ("bulletin/", "tests/", "bench/", "tools/", "examples/", "voices/", "docs/")
_PATH = re.compile(r"[\w.\-/]+")
_DOTTED = re.compile(r"bulletin(?:\.\w+)+")


def pages(root: Path) -> list[Path]:
    """The Markdown a reader follows links through: README, ARCHITECTURE, docs, bench, examples."""
    found = [root / "README.md", root / "ARCHITECTURE.md", *sorted((root / "docs").glob("*.md"))]
    for folder in ("bench", "examples"):
        found += sorted((root / folder).rglob("*.md"))
    return [p for p in found if p.is_file()]


def prose(text: str) -> list[str]:
    """The lines outside fenced code blocks (a ``#`` there is a comment, not a heading)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation out (CJK kept), spaces to '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading: its text
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every anchor GitHub makes for ``page``'s headings (a repeated one gets -1, -2, ...)."""
    seen: dict[str, int] = {}
    found = set()
    for line in prose(page.read_text(encoding="utf-8")):
        m = _HEADING.match(line)
        if not m:
            continue
        base = slug(m.group(2))
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


@dataclass(frozen=True)
class Link:
    page: Path
    target: str

    def where(self, root: Path) -> str:
        return f"{self.page.relative_to(root)}: ({self.target})"


def links(page: Path) -> list[Link]:
    """The relative links of ``page`` (web addresses and mail links are not ours to check)."""
    found = []
    for line in prose(page.read_text(encoding="utf-8")):
        for target in _LINK.findall(_CODE_SPAN.sub("", line)):
            if not re.match(r"[a-z][a-z0-9+.\-]*:", target, re.IGNORECASE):
                found.append(Link(page, target))
    return found


def resolve(link: Link) -> tuple[Path, str]:
    """The file a link points at and its anchor ('' for none)."""
    path, _, anchor = link.target.partition("#")
    return ((link.page.parent / path).resolve() if path else link.page.resolve()), anchor


def broken_links(root: Path) -> list[str]:
    """Every relative link whose file, or whose anchor in a Markdown file, does not exist."""
    broken = []
    for page in pages(root):
        for link in links(page):
            target, anchor = resolve(link)
            if not target.exists():
                broken.append(f"{link.where(root)}: no such file")
            elif anchor and target.suffix == ".md" and anchor not in anchors(target):
                broken.append(f"{link.where(root)}: no heading #{anchor} in {target.name}")
    return broken


def unlinked_docs(root: Path) -> list[str]:
    """The files under docs/ that the README does not link to."""
    linked = {resolve(link)[0] for link in links(root / "README.md")}
    docs = sorted(p for p in (root / "docs").rglob("*") if p.is_file())
    return [str(p.relative_to(root)) for p in docs if p.resolve() not in linked]


def code_spans(root: Path) -> list[tuple[Path, str]]:
    """What README, ARCHITECTURE and docs/ write in backticks (bench/ keeps history: old names)."""
    found = []
    for page in [root / "README.md", root / "ARCHITECTURE.md", *sorted((root / "docs").glob("*.md"))]:
        found += [
            (page, span)
            for line in prose(page.read_text(encoding="utf-8"))
            for span in _CODE_SPAN.findall(line)
        ]
    return found


def missing_paths(root: Path) -> list[str]:
    """Repository paths written in backticks (`bulletin/text/fold.py`) that do not exist."""
    return [
        f"{page.relative_to(root)}: `{span}`"
        for page, span in code_spans(root)
        if span.startswith(_REPO_DIRS) and _PATH.fullmatch(span) and not (root / span).exists()
    ]


def _top_level_names(module: Path) -> set[str]:
    """The names a module defines or imports at its top level, read without importing it."""
    names: set[str] = set()
    for node in ast.parse(module.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
                if isinstance(target, ast.Name) and target.id == "__all__" and node.value is not None:
                    # names a package exports lazily (``bulletin.run_build``)
                    names |= {c.value for c in ast.walk(node.value) if isinstance(c, ast.Constant)}
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def _names_something(root: Path, dotted: str) -> bool:
    """Whether ``bulletin.x.y[.attr]`` is a module or package of ours, or a name one defines."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        base = root.joinpath(*parts[:i])
        module = base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"
        if module.is_file():
            rest = parts[i:]
            return not rest or (len(rest) == 1 and rest[0] in _top_level_names(module))
    return False


def missing_names(root: Path) -> list[str]:
    """Module names written in backticks (`bulletin.run.build.run_build`) that name nothing."""
    return [
        f"{page.relative_to(root)}: `{span}`"
        for page, span in code_spans(root)
        if _DOTTED.fullmatch(span) and not _names_something(root, span)
    ]


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def undocumented_dependencies(root: Path) -> list[str]:
    """Packages in pyproject.toml that docs/dependencies.md (or the README's summary) does not name."""
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = [_name(spec) for spec in project["dependencies"]]
    tests = [_name(spec) for spec in project["optional-dependencies"]["test"]]
    reference = _normal((root / "docs" / "dependencies.md").read_text(encoding="utf-8"))
    summary = _normal((root / "README.md").read_text(encoding="utf-8"))
    missing = []
    for name in runtime + tests:
        word = re.compile(rf"(?<![\w-]){re.escape(_normal(name))}(?![\w-])")
        if not word.search(reference):
            missing.append(f"docs/dependencies.md: {name}")
        if name in runtime and not word.search(summary):
            missing.append(f"README.md: {name}")
    return missing


def _name(spec: str) -> str:
    """The package a requirement names: 'misaki' of 'misaki==0.9.4'."""
    return re.split(r"[\s\[<>=!~;]", spec, maxsplit=1)[0]


def test_readme_is_short() -> None:
    lines = (REPO / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move details to docs/"


def test_every_docs_page_is_linked_from_the_readme() -> None:
    assert unlinked_docs(REPO) == []


def test_relative_links_and_anchors_resolve() -> None:
    assert broken_links(REPO) == []


def test_paths_and_module_names_in_backticks_exist() -> None:
    assert missing_paths(REPO) + missing_names(REPO) == []


def test_every_dependency_is_explained() -> None:
    assert undocumented_dependencies(REPO) == []


def test_readme_test_command_is_what_ci_runs() -> None:
    """`.ci/run` runs the README's test command; the two must not part."""
    if not (REPO / ".ci" / "run").is_file():
        pytest.skip("not a git checkout (an sdist has no .ci/)")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()[-1]
    command = ci.replace(" -q ", " ")
    assert command.startswith("python3 -m venv .venv && ")
    assert f"\n{command}\n" in (REPO / "README.md").read_text(encoding="utf-8")


def test_the_checks_catch_drift(tmp_path: Path) -> None:
    """Not vacuous: a dead link, a wrong anchor, an unlinked page, a moved module are caught."""
    for name in ("README.md", "ARCHITECTURE.md", "pyproject.toml"):
        shutil.copy(REPO / name, tmp_path / name)
    shutil.copytree(REPO / "docs", tmp_path / "docs")
    shutil.copytree(REPO / "bulletin", tmp_path / "bulletin", ignore=shutil.ignore_patterns("__pycache__"))
    for folder in (".ci", "bench", "examples", "tests", "tools", "voices"):
        (tmp_path / folder).symlink_to(REPO / folder)
    assert broken_links(tmp_path) == unlinked_docs(tmp_path) == missing_names(tmp_path) == []

    (tmp_path / "docs" / "orphan.md").write_text("# Orphan\n", encoding="utf-8")
    readme = tmp_path / "README.md"
    readme.write_text(
        readme.read_text(encoding="utf-8")
        + "\n[gone](docs/gone.md), [wrong](docs/voices.md#no-such-heading),"
        + " [fine](docs/voices.md#the-edge-engine)\n"
        + "`bulletin/gone.py`, `bulletin.run.build.no_such_function`\n",
        encoding="utf-8",
    )
    (tmp_path / "bulletin" / "errors.py").rename(tmp_path / "bulletin" / "mistakes.py")
    pyproject = tmp_path / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    pyproject.write_text(
        text.replace("dependencies = [\n", 'dependencies = [\n    "unexplained>=1",\n', 1), encoding="utf-8"
    )

    assert unlinked_docs(tmp_path) == ["docs/orphan.md"]
    assert broken_links(tmp_path) == [
        "README.md: (docs/gone.md): no such file",
        "README.md: (docs/voices.md#no-such-heading): no heading #no-such-heading in voices.md",
    ]
    assert missing_paths(tmp_path) == ["README.md: `bulletin/gone.py`"]
    assert "README.md: `bulletin.run.build.no_such_function`" in missing_names(tmp_path)
    assert any("`bulletin.errors" in m for m in missing_names(tmp_path))
    assert undocumented_dependencies(tmp_path) == [
        "docs/dependencies.md: unexplained",
        "README.md: unexplained",
    ]


def test_anchors_are_githubs() -> None:
    assert slug("Issue 13: the Kokoro voices, speed, memory and intelligibility (2026-11-27)") == (
        "issue-13-the-kokoro-voices-speed-memory-and-intelligibility-2026-11-27"
    )
    assert slug("`text_bench.py` — text pipeline throughput") == "text_benchpy--text-pipeline-throughput"
    assert slug("Programmes: the top of the hour, fitted to its slot") == (
        "programmes-the-top-of-the-hour-fitted-to-its-slot"
    )


def test_the_library_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every Python example in docs/library.md runs as written, in order, from the repository's
    top folder: one example per layer, and the whole run through ``run_build``."""
    import subprocess

    code = "\n".join(
        re.findall(r"```python\n(.*?)```", (REPO / "docs" / "library.md").read_text("utf-8"), re.S)
    )
    script = tmp_path / "library_examples.py"
    script.write_text(code, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)], cwd=REPO, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "unknown engine 'nope'" in done.stdout and "LUFS" in done.stdout
