"""The station folder: programme files with a ``[station]`` table, and the one beat's schedule.

A programme's ``schedule`` (five-field cron, or ``hourly``) says when it *airs*; the beat
fires ``lead`` seconds earlier, so the edition is made from the latest news and is ready
on time. The cron is read in the station's zone (the machine's, ``TZ``), so ``0 7 * * *``
is seven o'clock local time across clock changes.

The beat stamps each tick with the air time it fired for (:func:`scheduler_class`): the
tick's task may wait in the queue behind builds, and a worker working the air time out
from its own clock after a wait of a minute or more would find the *next* one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bulletin.errors import ConfigError
from bulletin.run.programme import Programme, load_programme


def station_programme(path: Path, *, need_output: bool = True) -> Programme:
    """A programme file a worker can build on its own: its outputs named in ``[station]``."""
    found = load_programme(path)
    if need_output and not found.station.output:
        raise ConfigError(f"programme {path}: name its MP3 in [station] output (or pass --output)")
    return found


def programmes(folder: Path) -> list[Programme]:
    """Every programme file in ``folder`` with a ``[station] schedule``, by name."""
    if not folder.is_dir():
        raise ConfigError(f"{folder}: not a folder")
    found = [station_programme(p, need_output=False) for p in sorted(folder.glob("*.toml"))]
    scheduled = [p for p in found if p.station.schedule]
    for p in scheduled:
        station_programme(p.path)  # a scheduled programme must say where it goes
    return scheduled


def crontab_for(schedule: str, *, ahead: float = 0.0, app: Any = None) -> Any:
    """Celery's crontab for a ``schedule``, firing ``ahead`` seconds before each of its times."""
    from celery.schedules import crontab

    fields = ("0", "*", "*", "*", "*") if schedule == "hourly" else tuple(schedule.split())
    minute, hour, day, month, weekday = fields
    try:
        return crontab(
            minute=minute,
            hour=hour,
            day_of_month=day,
            month_of_year=month,
            day_of_week=weekday,
            nowfun=Ahead(ahead, app) if ahead else None,
            app=app,
        )
    except ValueError as exc:
        raise ConfigError(f"schedule {schedule!r}: {exc}") from None


@dataclass(frozen=True)
class Ahead:
    """A clock ``seconds`` ahead of the app's (picklable, for beat's schedule file)."""

    seconds: float
    app: Any = None

    def __call__(self) -> datetime:
        from celery import current_app

        return (self.app or current_app).now() + timedelta(seconds=self.seconds)


def next_air(schedule: str, after: datetime, app: Any) -> datetime:
    """The first air time of ``schedule`` after ``after``, in the app's zone."""
    after = after.astimezone(app.timezone)
    cron = crontab_for(schedule, app=app)
    cron.nowfun = lambda: after
    return after + cron.remaining_estimate(after)


def air_of(entry: Any, app: Any) -> datetime:
    """The air time a due beat entry fires for: its schedule's first time after its last run.

    The entry's clock runs ``lead`` ahead (:class:`Ahead`), so its last run and its
    schedule's times are air times; none of this depends on when the tick is read.
    """
    return next_air(entry.kwargs["schedule"], entry.last_run_at, app)


def scheduler_class() -> type:
    """The beat's scheduler: Celery's in-memory one, each tick's task stamped with its air time.

    Why stamp in the beat: the task waits in the queue behind builds when every worker is
    busy, and a worker that took the air time from its own clock after a wait of a minute
    or more queued the next edition instead (early, from staler news) and never made or
    reported the one due. Stamped, the edition due is queued however late, and dropped
    and listed as a failure if it is past its air time plus ``late``. In memory, as
    before: the beat keeps no schedule file, so a tick that falls while it is down is
    not made up for when it starts again.
    """
    from celery.beat import Scheduler

    from bulletin.distributed.tasks import DUE

    class StationScheduler(Scheduler):
        def apply_async(self, entry: Any, producer: Any = None, advance: bool = True, **kwargs: Any) -> Any:
            if entry.task == DUE:
                stamp = {**entry.kwargs, "air_time": air_of(entry, self.app).isoformat()}
                entry = self.Entry(**dict(entry, kwargs=stamp))
            return super().apply_async(entry, producer, advance, **kwargs)

    return StationScheduler


def beat_schedule(folder: Path, app: Any) -> dict[str, dict[str, Any]]:
    """The beat's entries: one per scheduled programme, firing ``lead`` before each air time."""
    from bulletin.distributed.tasks import DUE

    entries = {}
    for p in programmes(folder):
        station = p.station
        entries[p.path.stem] = {
            "task": DUE,
            "schedule": crontab_for(station.schedule or "hourly", ahead=station.lead, app=app),
            "kwargs": {
                "programme": str(p.path.resolve()),
                "schedule": station.schedule,
                "lead": station.lead,
            },
        }
    return entries
