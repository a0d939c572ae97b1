"""Celery tasks: thin wrappers that decode a message and call ``run_enhancement``.

The runbook's manual re-queue works verbatim::

    from src.workers.tasks import enhance_ticket
    enhance_ticket.apply_async(args=[{"job_id": "...", "ticket_id": "...", "tenant_id": "..."}],
                               queue="default")
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import structlog
from celery import Task
from celery.signals import before_task_publish, task_postrun, task_prerun, worker_shutdown

from src.config import load_settings
from src.database.models import utcnow
from src.database.repositories import history
from src.gc_policy import freeze_startup_objects
from src.logging import configure_logging, get_logger
from src.queue.redis_queue import job_message, publish_jobs
from src.workers.celery_app import celery_app
from src.workers.itsm_sync import run_itsm_sync
from src.workers.loop import run_sync
from src.workers.reconciler import reconcile_once
from src.workers.runtime import Worker, build_worker

log = get_logger(__name__)
RETRY_MARGIN_SECONDS = 1.0
_settings = load_settings()
_worker: Worker | None = None
_worker_lock: asyncio.Lock | None = None


async def _get_worker() -> Worker:
    """This process's worker, built once on the persistent loop."""
    global _worker, _worker_lock
    if _worker_lock is None:
        _worker_lock = asyncio.Lock()
    async with _worker_lock:
        if _worker is None:
            configure_logging(_settings.log_level, json=_settings.log_json)
            _worker = build_worker(_settings)
            freeze_startup_objects()
        return _worker


async def _run(job_id: str) -> str | None:
    return await (await _get_worker()).run(job_id)


async def _retry_countdown(job_id: str) -> float:
    """Seconds until the job may be claimed again, plus a second so it is due on arrival.

    That is its ``next_attempt_at``: a ``Retry-After`` can make it later than
    ``ENHANCEMENT_RETRY_DELAY``.
    """
    worker = await _get_worker()
    async with worker.deps.session_factory() as session:
        due = await history.next_attempt_at(session, job_id=job_id)
    if due is None:
        return _settings.enhancement_retry_delay
    return max((due - utcnow()).total_seconds(), 0.0) + RETRY_MARGIN_SECONDS


@celery_app.task(
    name="src.workers.tasks.enhance_ticket",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,  # the job's retry budget lives in the database (ENHANCEMENT_MAX_RETRIES)
)
def enhance_ticket(self: Task[Any, Any], job: dict[str, Any]) -> str | None:
    """Run one enhancement job; a retryable failure is retried when the job is due again.

    That is ``ENHANCEMENT_RETRY_DELAY`` later, or later still when SDP asked for more with
    ``Retry-After``: a message that arrived earlier would find the job not yet claimable.
    """
    job_id = job_message(job)["job_id"]
    status = run_sync(_run(job_id))
    if status == "pending":
        raise self.retry(countdown=run_sync(_retry_countdown(job_id)))
    return status


async def _reconcile() -> int:
    worker = await _get_worker()

    async def publish(messages: list[dict[str, str]]) -> None:
        await asyncio.to_thread(publish_jobs, celery_app, messages)

    return await reconcile_once(worker.deps.session_factory, _settings, publish)


@celery_app.task(name="src.workers.tasks.reconcile", ignore_result=True)
def reconcile() -> int:
    """Re-publish jobs whose message was lost (run by Celery beat)."""
    return run_sync(_reconcile())


async def _itsm_sync() -> int:
    worker = await _get_worker()
    return await run_itsm_sync(_settings, worker.deps.session_factory)


@celery_app.task(name="src.workers.tasks.itsm_sync", ignore_result=True)
def itsm_sync() -> int:
    """Read ITSM ticket states back and fill SLA timestamps (run by Celery beat)."""
    return run_sync(_itsm_sync())


@worker_shutdown.connect(weak=False)
def _release_metrics(**_: Any) -> None:
    """Tell prometheus_client this process is gone (multiprocess mode), so gauges stay true."""
    if _settings.prometheus_multiproc_dir is not None:
        from prometheus_client import multiprocess  # only in multiprocess mode

        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


@before_task_publish.connect(weak=False)
def _carry_correlation_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    cid = structlog.contextvars.get_contextvars().get("correlation_id")
    if headers is not None and cid and not headers.get("correlation_id"):
        headers["correlation_id"] = cid


@task_prerun.connect(weak=False)
def _bind_correlation_id(
    task: Task[Any, Any] | None = None, task_id: str | None = None, **_: Any
) -> None:
    structlog.contextvars.clear_contextvars()
    cid = task.request.get("correlation_id") if task is not None else None
    structlog.contextvars.bind_contextvars(correlation_id=cid or None, task_id=task_id)


@task_postrun.connect(weak=False)
def _clear_context(**_: Any) -> None:
    structlog.contextvars.clear_contextvars()
