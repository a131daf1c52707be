"""The rundown set (``tests/data/rundown/wires.toml``) written as each agency's JSON Feed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

WIRES = Path(__file__).resolve().parent / "data" / "rundown" / "wires.toml"
AGENCIES = ("cna", "xinhua", "udn")


def articles(section: str = "article") -> list[dict[str, str]]:
    return tomllib.loads(WIRES.read_text(encoding="utf-8"))[section]


def write_feeds(folder: Path, *, extra: bool = False) -> list[Path]:
    """One JSON Feed per agency in ``folder`` (with ``extra``, the next edition's article too)."""
    found = articles() + (articles("next") if extra else [])
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for agency in AGENCIES:
        items = [
            {
                "id": f"https://{agency}.example.org/{n}",
                "title": a["title"],
                "content_text": a["text"].strip(),
                "date_published": a["published"],
            }
            for n, a in enumerate(found)
            if a["agency"] == agency
        ]
        feed = {"version": "https://jsonfeed.org/version/1.1", "title": agency, "items": items}
        path = folder / f"{agency}.json"
        path.write_text(json.dumps(feed, ensure_ascii=False, indent=1), encoding="utf-8")
        paths.append(path)
    return paths
