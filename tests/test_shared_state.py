"""What the sources keep between runs, shared by a station group's workers (issue 20).

A run handed ``records`` (a station group's store: Redis there, a dict here, the store is
not what is tested) keeps each site's remembered furniture and the conditional-request
records in it, not in its state folder: a worker that never read a host's pages takes
out the template another worker learned, and asks conditionally for a page another
fetched. With no store, the state folder keeps the same files as before. Pages come from
a local news site (tests/fake_news.py) on one site template (tests/test_site_repeats.py).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from fake_news import NewsSite
from memory_engine import MemoryEngine
from test_site_repeats import EVENTS, NOTICE, SIGN_OFF, page

from bulletin.audio.settings import EncodeOptions
from bulletin.environment import Dirs
from bulletin.errors import PublishError
from bulletin.run.build import run_build
from bulletin.run.options import BuildOptions, OutputOptions, SourceOptions
from bulletin.sources.gather import read_sources
from bulletin.sources.repeats import Memory

FIXED = datetime(2026, 12, 4, 20, 0, tzinfo=timezone.utc)


class DictStore:
    """A store (``bulletin.files.StateStore``) in a dict: what a station group's Redis holds."""

    def __init__(self) -> None:
        self.kept: dict[str, bytes] = {}
        self.keep: dict[str, float | None] = {}

    def read(self, name: str, limit: int) -> bytes | None:
        data = self.kept.get(name)
        return None if data is None or len(data) > limit else data

    def write(self, name: str, data: bytes, *, keep: float | None = None) -> None:
        self.kept[name], self.keep[name] = data, keep


class BrokenStore(DictStore):
    """Redis gone: every read a miss, every write refused."""

    def read(self, name: str, limit: int) -> bytes | None:
        return None

    def write(self, name: str, data: bytes, *, keep: float | None = None) -> None:
        raise PublishError("cannot keep it in Redis: Connection refused")


@pytest.fixture
def site():
    with NewsSite() as news:
        yield news


def build(urls: list[str], folder: Path, store: DictStore | None) -> dict:
    """One build of ``urls`` by a "worker" whose folders are under ``folder``; its report's sources."""
    options = BuildOptions(
        sources=SourceOptions(articles=tuple(urls)),
        output=OutputOptions(path=str(folder / "out.mp3"), encode=EncodeOptions(normalize=False)),
    )
    report = run_build(
        options, engine=MemoryEngine(), dirs=Dirs.under(folder), clock=lambda: FIXED, records=store
    )
    assert report.exit_status == 0, report.error
    return {s["source"]: s for s in report.sources}


def kept_in(folder: Path) -> list[str]:
    """What the sources left in a worker's state folder."""
    state = folder / "state"
    return sorted(
        str(p.relative_to(state)) for kind in ("furniture", "sources") for p in state.glob(f"{kind}/*")
    )


def test_a_worker_reads_a_host_with_the_furniture_another_worker_learned(site, tmp_path: Path) -> None:
    urls = [site.add(f"/news/{n}.html", page(event), etag=True) for n, event in enumerate(EVENTS)]
    store = DictStore()
    first = build(urls[:2], tmp_path / "alpha", store)  # two pages: not yet the site's
    assert [s["site_furniture"] for s in first.values()] == [0, 0]

    second = build(urls[1:], tmp_path / "beta", store)  # a page alpha read, and a new one
    assert [s["site_furniture"] for s in second.values()] == [2, 2]  # the notice and the sign-off
    assert [h.status for h in site.hits("/news/1.html")] == [200, 304]  # asked as alpha had
    assert second[urls[1]]["status"] == "not-modified"
    assert kept_in(tmp_path / "alpha") == kept_in(tmp_path / "beta") == []
    assert any(name.startswith("furniture/") for name in store.kept)
    assert any(name.startswith("sources/") for name in store.kept)

    alone = build(urls[2:], tmp_path / "gamma", None)  # a worker that shares nothing: one page, as it is
    assert [s["site_furniture"] for s in alone.values()] == [0]


def test_with_no_store_the_state_folder_keeps_the_same_files_as_before(site, tmp_path: Path) -> None:
    url = site.add("/news/0.html", page(EVENTS[0]), etag=True)
    state = tmp_path / "state"
    gathered = read_sources([url], state=state)
    assert gathered.articles[0].text.startswith(NOTICE)  # one page: nothing to learn from yet
    key = hashlib.sha256(url.encode()).hexdigest()[:40]
    host = hashlib.sha256(b"127.0.0.1").hexdigest()[:32]
    assert kept_in(tmp_path) == sorted(
        [f"furniture/{host}.json", f"sources/{key}.body", f"sources/{key}.json"]
    )
    assert (state / "sources" / f"{key}.body").read_bytes() == page(EVENTS[0]).encode()  # as fetched
    meta = json.loads((state / "sources" / f"{key}.json").read_text())
    assert "body" not in meta and meta["url"] == url
    assert json.loads((state / "furniture" / f"{host}.json").read_text())["host"] == "127.0.0.1"

    again = read_sources([url], state=state)  # the folder answers the 304, as before
    assert [h.status for h in site.hits("/news/0.html")] == [200, 304]
    assert again.articles[0].text == gathered.articles[0].text


def test_a_shared_body_is_kept_compressed_and_one_over_the_cap_not_at_all(site, monkeypatch) -> None:
    small = site.add("/small.html", page(EVENTS[0]), etag=True)
    store = DictStore()
    read_sources([small], shared=store)
    (body,) = (v for k, v in store.kept.items() if k.endswith(".body"))
    assert len(body) < len(page(EVENTS[0]).encode())
    assert all(store.keep[k] for k in store.kept)  # every shared record expires

    monkeypatch.setattr("bulletin.sources.fetch.SHARED_KEEP_BYTES", 64)  # the page's, compressed, is over
    url = site.add("/large.html", page(EVENTS[1]), etag=True)
    before = set(store.kept)
    read_sources([url], shared=store)
    assert not any(k.endswith(".body") for k in set(store.kept) - before)
    read_sources([url], shared=store)
    assert [h.status for h in site.hits("/large.html")] == [200, 200]  # nothing kept to ask with


def test_two_workers_saving_one_host_at_once_keep_each_others_pages() -> None:
    """Both read the host's record before either writes: the second merges, not overwrites."""
    store = DictStore()
    alpha, beta = Memory(None, store), Memory(None, store)
    assert alpha.pieces("news.example") == beta.pieces("news.example") == {}
    alpha.remember("news.example", "page-a", ["notice"], 100.0)
    beta.remember("news.example", "page-b", ["notice", "sign-off"], 101.0)
    alpha.save(100.0)
    beta.save(101.0)
    kept = Memory(None, store).pieces("news.example")
    assert kept == {"notice": [101.0, "page-a", "page-b"], "sign-off": [101.0, "page-b"]}


def test_a_store_that_fails_is_a_warning_and_the_pages_are_still_read(site) -> None:
    urls = [site.add(f"/news/{n}.html", page(event), etag=True) for n, event in enumerate(EVENTS)]
    warned: list[str] = []
    gathered = read_sources(urls, shared=BrokenStore(), warn=warned.append)
    assert [s.status for s in gathered.sources] == ["ok"] * 3
    assert all(NOTICE not in a.text and SIGN_OFF not in a.text for a in gathered.articles)  # this run's own
    assert len(warned) == 2 and all("Connection refused" in w for w in warned), warned
