"""The station group's tasks: build one edition (publish it once, or drop it when late),
and the beat's tick that turns a programme's schedule into an edition.

Arguments are keyword JSON (the edition id, the programme file, the air time, the
outputs), so Flower shows them as they are. A task may run more than once (redelivery
after a kill, a duplicate submit): every outcome is decided against the edition's record
in Redis under its lock, and publishing is fenced (:mod:`bulletin.distributed.ledger`).
"""

from __future__ import annotations

import importlib
import socket
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from bulletin import environment
from bulletin.distributed.edition import Edition, parse_air
from bulletin.distributed.ledger import EditionRefused, Ledger
from bulletin.errors import EXIT_TEMPFAIL, BulletinError

BUILD = "bulletin.build_edition"
DUE = "bulletin.due"
#: Seconds between tries while another worker holds the edition or the engine is away.
RETRY_AFTER = 2.0


def register(app: Any) -> None:
    """Add the tasks to ``app`` (names fixed, so any worker and Flower agree on them)."""

    @app.task(name=BUILD, bind=True, max_retries=None)
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
        outcome = publish_once(
            ledger, ed, output=output, feed=feed, base_url=base_url, worker=self.request.hostname or ""
        )
        if outcome["status"] == "retry":
            raise self.retry(countdown=RETRY_AFTER)
        return outcome

    @app.task(name=DUE)
    def due(*, programme: str, schedule: str, lead: float) -> dict[str, Any]:
        from bulletin.distributed.station import next_air, station_programme

        found = station_programme(Path(programme))
        air = next_air(schedule, datetime.now(timezone.utc) + timedelta(seconds=lead - 60), app)
        return submit(app, found.path, air)


def submit(app: Any, programme: Path, air: datetime, **outputs: str | None) -> dict[str, Any]:
    """Queue one edition's build; ``outputs`` (output, feed, base_url) override the file's."""
    from bulletin.distributed.station import station_programme

    found = station_programme(programme, need_output=not outputs.get("output"))
    station = found.station
    kwargs = {
        "edition": Edition(found.path, air, station.late).id,
        "programme": str(found.path.resolve()),
        "air_time": air.isoformat(),
        "output": outputs.get("output") or station.output,
        "feed": outputs.get("feed") or station.feed,
        "base_url": outputs.get("base_url") or station.base_url,
        "late": station.late,
    }
    result = app.send_task(BUILD, kwargs=kwargs)
    return {"task": result.id, **kwargs}


def publish_once(
    ledger: Ledger,
    edition: Edition,
    *,
    output: str,
    feed: str | None = None,
    base_url: str | None = None,
    worker: str = "",
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
        report = _build(edition, output, feed, base_url, claim.check)
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


def _build(edition: Edition, output: str, feed: str | None, base_url: str | None, check: Any) -> Any:
    from bulletin.run.build import run_build
    from bulletin.run.options import BuildOptions, OutputOptions, ProgrammeOptions, PublishOptions

    options = BuildOptions(
        output=OutputOptions(path=output),
        publish=PublishOptions(feed=feed, base_url=base_url, lock_timeout=60.0),
        programme=ProgrammeOptions(file=str(edition.programme), air_time=edition.air.isoformat()),
    )
    return run_build(options, engine=_engine(), before_commit=check)


def _engine() -> Any:
    """The engine named by ``BULLETIN_ENGINE_FACTORY`` (tests), else None: the programme's choice."""
    named = environment.engine_factory()
    if not named:
        return None
    module, _, attr = named.partition(":")
    return getattr(importlib.import_module(module), attr or "engine")()
