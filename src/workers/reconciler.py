"""The reconciler: the database row is the truth, so lost queue messages are found again.

Every ``RECONCILE_INTERVAL_SECONDS`` (Celery beat, and the API's dispatcher), jobs whose message
may have been lost (Redis restarted without persistence, a worker killed, a publish that failed)
are published again. Duplicates are harmless: claiming is atomic and write-back checks the
ticket's notes for the correlation ID before posting.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from src.config import Settings
from src.database.repositories import history
from src.database.session import SessionFactory, transaction
from src.logging import get_logger
from src.queue.redis_queue import row_message

log = get_logger(__name__)

Publish = Callable[[list[dict[str, str]]], Awaitable[None]]


async def reconcile_once(factory: SessionFactory, settings: Settings, publish: Publish) -> int:
    """Re-publish stranded jobs; returns how many. Publishing errors propagate to the caller."""
    async with factory() as session:
        rows = await history.stranded_jobs(
            session,
            older_than_seconds=settings.reconcile_pending_after_seconds,
            limit=settings.dispatcher_batch_size,
        )
    if not rows:
        return 0
    messages = [row_message(row) for row in rows]
    await publish(messages)
    async with transaction(factory) as session:
        await history.mark_enqueued(session, job_ids=[m["job_id"] for m in messages])
    log.warning(
        "jobs_requeued_by_reconciler",
        count=len(messages),
        job_ids=[m["job_id"] for m in messages][:20],
    )
    return len(messages)
