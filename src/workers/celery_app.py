"""The Celery application for the scaled deployment (``celery -A src.workers.celery_app``).

Jobs are almost all waiting on HTTP, so a worker runs Celery's ``threads`` pool (``enhancer
worker`` does this for you): each pool thread hands its job to the process's one persistent
event loop (``src.workers.loop``) and waits, so one process keeps many jobs in flight.
``acks_late`` + ``reject_on_worker_lost`` + prefetch 1 mean a killed worker's message goes back
to the queue; the database lease and the note check make the re-run safe.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from src.config import Settings, load_settings
from src.queue.redis_publisher import BROKER_SOCKET_TIMEOUT_SECONDS

QUEUE = "default"
VISIBILITY_TIMEOUT_SECONDS = 7200  # longer than any job plus its 60 s retry countdowns


def make_celery(settings: Settings) -> Celery:
    """Configure a Celery app on ``CELERY_BROKER_URL`` (or ``REDIS_URL``)."""
    broker = settings.broker_url or "redis://127.0.0.1:6379/0"
    app = Celery("enhancer", broker=broker, include=["src.workers.tasks"])
    transport: dict[str, Any] = {"visibility_timeout": VISIBILITY_TIMEOUT_SECONDS}
    if broker.startswith(("redis://", "rediss://")):
        # A Redis that stops answering (not refusing) must not hang the dispatcher's publish
        # or a worker forever: calls give up and the caller's retry/reconnect takes over.
        transport["socket_timeout"] = BROKER_SOCKET_TIMEOUT_SECONDS
        transport["socket_connect_timeout"] = BROKER_SOCKET_TIMEOUT_SECONDS
    app.conf.update(
        task_default_queue=QUEUE,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        broker_transport_options=transport,
        visibility_timeout=VISIBILITY_TIMEOUT_SECONDS,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        beat_schedule={
            "reconcile": {
                "task": "src.workers.tasks.reconcile",
                "schedule": settings.reconcile_interval_seconds,
                "options": {"queue": QUEUE, "expires": settings.reconcile_interval_seconds},
            },
            "itsm-sync": {
                "task": "src.workers.tasks.itsm_sync",
                "schedule": settings.itsm_sync_interval_seconds,
                "options": {"queue": QUEUE, "expires": settings.itsm_sync_interval_seconds},
            },
        },
    )
    return app


celery_app = make_celery(load_settings())
