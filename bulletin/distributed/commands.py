"""What ``bulletin worker``, ``submit``, ``schedule`` and ``status`` do (the CLI only parses).

Each takes the broker URL :func:`bulletin.distributed.require` checked, so Celery is
imported only here, only when a station command runs.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bulletin import environment
from bulletin.distributed.app import VISIBILITY_TIMEOUT, make_app
from bulletin.distributed.ledger import Ledger
from bulletin.errors import BrokerUnavailable


def _zone() -> str:
    """The station's zone for cron schedules: the machine's, by name when it has one."""
    return getattr(environment.local_zone(), "key", None) or "UTC"


def app_for(broker: str, visibility_timeout: float = VISIBILITY_TIMEOUT) -> Any:
    return make_app(broker, visibility_timeout=visibility_timeout, zone=_zone())


def reachable(broker: str, timeout: float = 5.0) -> None:
    """Raise :class:`BrokerUnavailable` (exit 75) unless the broker's Redis answers a ping.

    Asked first by the commands that talk to Redis once and leave (``submit``, ``status``,
    ``schedule``): Celery would otherwise retry its connection for a while and end in a
    RuntimeError of several lines. The worker is not asked: it waits for the broker itself.
    The URL is shown without its password.
    """
    import redis

    try:
        redis.Redis.from_url(broker, socket_connect_timeout=timeout, socket_timeout=timeout).ping()
    except (redis.RedisError, OSError, ValueError) as exc:
        parts = urlsplit(broker)
        shown = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl() if parts.password else broker
        raise BrokerUnavailable(f"cannot reach the broker {shown}: {exc}") from None


def worker(
    broker: str, *, concurrency: int, visibility_timeout: float, name: str | None, loglevel: str
) -> None:
    """Run a Celery worker (prefork, ``concurrency`` processes) until it is stopped."""
    from bulletin.distributed.fanout import CHUNKS_QUEUE

    argv = ["worker", f"--concurrency={concurrency}", f"--loglevel={loglevel}", "--without-gossip"]
    argv.append(f"--queues=celery,{CHUNKS_QUEUE}")  # builds, and the chunks they fan out
    if name:
        argv.append(f"--hostname={name}")
    app_for(broker, visibility_timeout).worker_main(argv=argv)


def submit(
    broker: str, programme: Path, air_time: str, zone: str | None, **outputs: str | None
) -> dict[str, Any]:
    """Queue one edition of ``programme`` for ``air_time`` (as ``build --air-time`` reads it)."""
    from bulletin.distributed.tasks import submit as send
    from bulletin.text.airtime import parse_air_time, parse_zone

    local = environment.local_zone()
    air = parse_air_time(air_time, datetime.now(local), parse_zone(zone, local=local))
    reachable(broker)
    return send(app_for(broker), programme, air, **outputs)


def schedule(broker: str, folder: Path, *, loglevel: str) -> None:
    """Run the station's one beat: each scheduled programme's edition queued ``lead`` before air."""
    from bulletin.distributed.station import beat_schedule, scheduler_class

    app = app_for(broker)
    entries = beat_schedule(folder, app)
    reachable(broker)
    app.conf.beat_schedule = entries
    for name, entry in entries.items():
        print(
            f"{name}: {entry['kwargs']['schedule']} ({app.conf.timezone}), lead {entry['kwargs']['lead']:g} s"
        )
    from celery.apps.beat import Beat

    Beat(app=app, loglevel=loglevel, scheduler=scheduler_class(), quiet=True).run()


def status(broker: str, *, folder: Path | None, count: int) -> dict[str, Any]:
    """The schedule (with ``folder``), each programme's last run, recent failures, workers seen."""
    reachable(broker)
    ledger = Ledger.connect(broker)
    app = app_for(broker)
    seen = app.control.ping(timeout=1.0) or []
    found: dict[str, Any] = {
        "workers": sorted(name for reply in seen for name in reply),
        "last": ledger.last(),
        "failures": ledger.runs("failures", count),
        "runs": ledger.runs("runs", count),
    }
    if folder is not None:
        from bulletin.distributed.station import next_air, programmes

        now = datetime.now(timezone.utc)
        found["schedule"] = [
            {
                "programme": str(p.path),
                "schedule": p.station.schedule,
                "next_air": next_air(p.station.schedule or "hourly", now, app).isoformat(),
                "lead": p.station.lead,
                "late": p.station.late,
            }
            for p in programmes(folder)
        ]
    return found
