"""Corruption heals: a damaged run record or cache entry costs one rebuild, with a warning
(issue 12, item 2). Each case: build, damage, build again (rebuilt, warned), build a third
time (unchanged or fully cached: the damaged file was replaced).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import run_cli as run
from mp3_duration import probe_duration

ARTICLE = "六方會談今天在北京舉行。各方代表將就核問題交換意見。\n"


@pytest.fixture
def article(tmp_path: Path) -> Path:
    path = tmp_path / "a.txt"
    path.write_text(ARTICLE, encoding="utf-8")
    return path


def build(article: Path, out: Path):
    result = run("build", str(article), "--engine", "edge", "-o", str(out))
    assert result.exit_code == 0, result.output
    return result


def rewrite_json(change: Callable[[dict], object]) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        record = json.loads(path.read_text(encoding="utf-8"))
        path.write_text(json.dumps(change(record) or record), encoding="utf-8")

    return damage


def fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


STATE_DAMAGE = {
    "extra is a string": rewrite_json(lambda r: r.update(extra="x")),
    "engine is a number": rewrite_json(lambda r: r["extra"].update(engine=5)),
    "subtitles is a string": rewrite_json(lambda r: r["extra"].update(subtitles="x")),
    "feed is a list": rewrite_json(lambda r: r["extra"].update(feed=["x"])),
    "size is text": rewrite_json(lambda r: r.update(size="12")),
    "size is true": rewrite_json(lambda r: r.update(size=True)),
    "no fingerprint": rewrite_json(lambda r: r.pop("fingerprint")),
    "a list": rewrite_json(lambda r: [r]),
    "truncated": lambda p: p.write_bytes(p.read_bytes()[:40]),
    "not UTF-8": lambda p: p.write_bytes(b"\xff\xfe{"),
    "a FIFO": fifo,
}


@pytest.mark.parametrize("damage", STATE_DAMAGE.values(), ids=STATE_DAMAGE.keys())
def test_a_damaged_run_record_costs_one_rebuild(edge, article, tmp_path, damage) -> None:
    out = tmp_path / "news.mp3"
    build(article, out)
    (record,) = (tmp_path / "state").rglob("*.json")
    damage(record)
    again = build(article, out)
    assert "damaged run record" in again.stderr and "unchanged" not in again.stderr
    third = build(article, out)
    assert "unchanged" in third.stderr and "damaged run record" not in third.stderr


def test_a_cache_entry_whose_header_was_edited_costs_one_rebuild(edge, article, tmp_path) -> None:
    """``"format":"mp3"`` → ``"mp2"``, audio untouched: the checksum covers the whole entry."""
    build(article, tmp_path / "a.mp3")
    entries = [e for e in (tmp_path / "cache").rglob("*.clip") if e.parent.name != "bulletins"]
    assert entries
    for entry in entries:
        raw = entry.read_bytes()
        assert b'"format":"mp3"' in raw
        entry.write_bytes(raw.replace(b'"format":"mp3"', b'"format":"mp2"', 1))
    shutil.rmtree(next((tmp_path / "cache").rglob("bulletins")))  # so that the clips are read
    requests = edge.requests
    again = build(article, tmp_path / "b.mp3")
    assert "corrupt entry" in again.stderr
    assert edge.requests - requests == len(entries)  # every chunk said once more, and only once
    assert all(b'"format":"mp3"' in entry.read_bytes() for entry in entries)  # replaced
    assert probe_duration(tmp_path / "b.mp3") == pytest.approx(probe_duration(tmp_path / "a.mp3"), abs=0.05)


@pytest.mark.parametrize("where", ["header", "audio", "checksum"])
def test_a_damaged_assembled_bulletin_is_made_again(edge, article, tmp_path, where) -> None:
    """The whole-bulletin shelf uses the same entries: damage anywhere is a miss."""
    build(article, tmp_path / "a.mp3")
    (entry,) = (tmp_path / "cache").rglob("bulletins/*.clip")
    raw = bytearray(entry.read_bytes())
    spot = {"header": raw.index(b'"length"') + 2, "audio": len(raw) // 2, "checksum": len(raw) - 1}[where]
    raw[spot] ^= 0x20
    entry.write_bytes(bytes(raw))
    again = build(article, tmp_path / "b.mp3")
    assert "corrupt entry" in again.stderr
    assert probe_duration(tmp_path / "b.mp3") == pytest.approx(probe_duration(tmp_path / "a.mp3"), abs=0.05)
