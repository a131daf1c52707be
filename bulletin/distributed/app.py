"""The station group's Celery app: the settings that make a task survive ``kill -9``.

Measured for issue 20: ``acks_late`` alone loses a task whose pool process is killed;
with ``task_reject_on_worker_lost`` it runs again. A whole worker killed is redelivered
after the broker's ``visibility_timeout``, swept every ``unacked_restore_interval``
(kombu's default sweep took 98 s); a timeout shorter than a task runs it again while it
still runs, so the timeout must exceed the longest build, and publishing is fenced
anyway (:mod:`bulletin.distributed.ledger`). Prefetch 1: a worker holds one task, not a
queue of them that would wait behind a long build. JSON arguments, named tasks and
events, so Flower on the same broker shows what each task is about.
"""

from __future__ import annotations

from typing import Any

#: Seconds before an unacknowledged task is given to another worker: above the longest build.
VISIBILITY_TIMEOUT = 1800.0
#: Seconds between sweeps for unacknowledged tasks whose worker is gone.
RESTORE_INTERVAL = 1


def transport_options(visibility_timeout: float = VISIBILITY_TIMEOUT) -> dict[str, Any]:
    return {
        "visibility_timeout": visibility_timeout,
        "unacked_restore_interval": RESTORE_INTERVAL,
        "unacked_restore_throttle": 1,  # every sweep really scans (kombu's default: every 10th)
    }


def make_app(broker: str, *, visibility_timeout: float = VISIBILITY_TIMEOUT, zone: str = "UTC") -> Any:
    """A Celery app on ``broker`` (also its result backend, for chords), with the tasks registered."""
    from celery import Celery

    from bulletin.distributed import tasks

    app = Celery("bulletin", broker=broker, backend=broker)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options=transport_options(visibility_timeout),
        result_backend_transport_options={"visibility_timeout": visibility_timeout},
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        worker_send_task_events=True,  # Flower
        task_send_sent_event=True,
        task_track_started=True,
        result_expires=7 * 86400,
        timezone=zone,
        enable_utc=True,
        worker_hijack_root_logger=False,
    )
    tasks.register(app)
    return app
