"""The station group's tasks: build one edition (publish it once, or drop it when late),
and the beat's tick that queues the edition it fired for.

Arguments are keyword JSON (the edition id, the programme file, the air time, the
outputs), so Flower shows them as they are. A task may run more than once (redelivery
after a kill, a duplicate submit): every outcome is decided against the edition's record
in Redis under its lock, and publishing is fenced (:mod:`bulletin.distributed.ledger`).
"""

from __future__ import annotations

import importlib
import os
import socket
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bulletin import environment
from bulletin.distributed.edition import Edition, parse_air
from bulletin.distributed.fanout import CHUNK, Claims, FanOut
from bulletin.distributed.ledger import EditionRefused, Ledger, RedisRecords
from bulletin.engines.base import VoiceSettings
from bulletin.errors import EXIT_TEMPFAIL, BulletinError

BUILD = "bulletin.build_edition"
DUE = "bulletin.due"
#: Seconds between tries while another worker holds the edition or the engine is away.
RETRY_AFTER = 2.0


def register(app: Any) -> None:
    """Add the tasks to ``app`` (names fixed, so any worker and Flower agree on them).

    Not shared (Celery's default): a shared task is added to every app made later in the
    process, each then calling the first app's closures (its broker), and Celery 5.7 warns.
    """

    @app.task(name=BUILD, bind=True, max_retries=None, shared=False)
    def build_edition(
        self: Any,
        *,
        edition: str,
        programme: str,
        air_time: str,
        output: str,
        feed: str | None = None,
        base_url: str | None = None,
        late: float = 300.0,
    ) -> dict[str, Any]:
        ed = Edition(Path(programme), parse_air(air_time), late)
        ledger = Ledger.connect(app.conf.broker_url)
        worker = self.request.hostname or ""
        fan_out = FanOut(app, Claims(ledger.client), ed.id, worker)
        outcome = publish_once(
            ledger, ed, output=output, feed=feed, base_url=base_url, worker=worker, fan_out=fan_out
        )
        if outcome["status"] == "retry":
            raise self.retry(countdown=RETRY_AFTER)
        return outcome

    @app.task(name=CHUNK, bind=True, ignore_result=True, shared=False)
    def synthesize_chunk(
        self: Any, *, edition: str, key: str, spoken: str, engine: str, voice: dict[str, str]
    ) -> str:
        """One chunk of a programme into the shared cache (:mod:`bulletin.distributed.fanout`)."""
        worker = self.request.hostname or ""
        return chunk_once(
            app, key=key, spoken=spoken, engine=engine, voice=VoiceSettings(**voice), worker=worker
        )

    @app.task(name=DUE, shared=False)
    def due(*, programme: str, air_time: str, schedule: str = "", lead: float = 0.0) -> dict[str, Any]:
        """Queue the edition the beat's tick was for: ``air_time``, stamped by the beat
        (:func:`bulletin.distributed.station.scheduler_class`), never this worker's clock.
        ``schedule`` and ``lead`` are for whoever reads the task (Flower).

        A programme file broken since the beat read it is a failure of that edition, in
        the ledger with the others (``bulletin status``), not only a line in one worker's log.
        """
        air = parse_air(air_time)
        try:
            return submit(app, Path(programme), air)
        except BulletinError as exc:
            from bulletin.run.programme.file import LATE

            edition = Edition(Path(programme), air, LATE)
            Ledger.connect(app.conf.broker_url).note(edition, "failed", error=str(exc))
            return {"edition": edition.id, "status": "failed", "error": str(exc)}


def submit(app: Any, programme: Path, air: datetime, **outputs: str | None) -> dict[str, Any]:
    """Queue one edition's build; ``outputs`` (output, feed, base_url) override the file's.

    Paths go out absolute: the worker's working folder is not the submitter's, so a
    relative programme path (its outputs are read relative to it) or ``--output`` would
    put the files wherever each worker happened to start.
    """
    from bulletin.distributed.station import station_programme

    found = station_programme(programme.resolve(), need_output=not outputs.get("output"))
    station = found.station
    kwargs = {
        "edition": Edition(found.path, air, station.late).id,
        "programme": str(found.path),
        "air_time": air.isoformat(),
        "output": _absolute(outputs.get("output") or station.output),
        "feed": _absolute(outputs.get("feed") or station.feed),
        "base_url": outputs.get("base_url") or station.base_url,
        "late": station.late,
    }
    result = app.send_task(BUILD, kwargs=kwargs)
    return {"task": result.id, **kwargs}


def _absolute(path: str | None) -> str | None:
    return os.path.abspath(path) if path else None


def publish_once(
    ledger: Ledger,
    edition: Edition,
    *,
    output: str,
    feed: str | None = None,
    base_url: str | None = None,
    worker: str = "",
    fan_out: FanOut | None = None,
) -> dict[str, Any]:
    """Build and publish ``edition`` unless it is done or late; its outcome, also in Redis.

    ``status``: ``published``, ``unchanged`` (done already, by this or another worker, or
    the same bytes as last time), ``late`` (dropped and reported), ``failed``, ``refused``
    (another worker took it over) or ``retry`` (someone else holds it, or the engine is away).
    """
    about = {"edition": edition.id, "worker": worker or socket.gethostname()}
    if ledger.done(edition.id):
        return {**about, "status": "unchanged"}
    if time.time() > edition.deadline:
        ledger.note(edition, "late", worker=about["worker"])
        return {**about, "status": "late"}
    wait = min(ledger.ttl * 1.5, max(0.0, edition.deadline - time.time()))
    claim = ledger.claim(edition, wait=wait, worker=about["worker"])
    if claim is None:
        return {**about, "status": "retry"}
    try:
        if claim.done:  # finished while this task waited for the lock
            return {**about, "status": "unchanged"}
        report = _build(edition, output, feed, base_url, claim.check, fan_out, RedisRecords(ledger.client))
        status = "unchanged" if report.skipped_unchanged else "published"
        recorded = claim.finish(status, output=report.output.path, worker=about["worker"])
        return {**about, "status": status, "output": report.output.path, "recorded": recorded}
    except EditionRefused as exc:
        if exc.why == "late":
            ledger.note(edition, "late", worker=about["worker"])
        return {**about, "status": "late" if exc.why == "late" else "refused", "error": str(exc)}
    except BulletinError as exc:
        if exc.exit_code == EXIT_TEMPFAIL and time.time() < edition.deadline:
            return {**about, "status": "retry", "error": str(exc)}
        ledger.note(edition, "failed", error=str(exc), worker=about["worker"])
        return {**about, "status": "failed", "error": str(exc)}
    finally:
        claim.release()


def _build(
    edition: Edition,
    output: str,
    feed: str | None,
    base_url: str | None,
    check: Any,
    fan_out: FanOut | None = None,
    records: RedisRecords | None = None,
) -> Any:
    from bulletin.run.build import run_build
    from bulletin.run.options import BuildOptions, OutputOptions, ProgrammeOptions, PublishOptions

    options = BuildOptions(
        output=OutputOptions(path=output),
        publish=PublishOptions(feed=feed, base_url=base_url, lock_timeout=60.0),
        programme=ProgrammeOptions(file=str(edition.programme), air_time=edition.air.isoformat()),
    )
    return run_build(options, engine=_engine(), before_commit=check, fan_out=fan_out, records=records)


def _engine() -> Any:
    """The engine named by ``BULLETIN_ENGINE_FACTORY`` (tests, the benchmark), else None: the
    programme's choice."""
    named = environment.engine_factory()
    if not named:
        return None
    module, _, attr = named.partition(":")
    return getattr(importlib.import_module(module), attr or "engine")()


#: A worker process's engines by name, made once: loading a model per chunk would cost
#: more than the chunk.
_ENGINES: dict[str, Any] = {}


def _engine_named(name: str) -> Any:
    if name not in _ENGINES:
        from bulletin.run.choose import EngineFactory

        made = _engine()
        if made is None:
            made = EngineFactory(endpoints=environment.endpoints(), data_dir=environment.dirs().data)(name)
        _ENGINES[name] = made
    return _ENGINES[name]


def chunk_once(
    app: Any, *, key: str, spoken: str, engine: str, voice: VoiceSettings, worker: str = ""
) -> str:
    """Make one chunk into this worker's cache unless it is there or being made; what happened.

    A worker whose engine would key the chunk differently (another model version) leaves
    it to the build, which made the key: ``mismatch``. A failure is left to the build too,
    which then meets it itself (its claim is let go).
    """
    from bulletin.distributed.fanout import chunk_plan, make_chunk
    from bulletin.run.cache import ClipCache, open_cache

    made = _engine_named(engine)
    if ClipCache.key(made.version(voice), voice, spoken) != key:
        return "mismatch"
    claims = Claims(Ledger.connect(app.conf.broker_url).client)
    try:
        return make_chunk(
            claims, open_cache(environment.dirs()), chunk_plan(key, spoken, voice), 0, made, worker
        )
    except BulletinError as exc:
        return f"failed: {exc}"
