"""The backlog's age counts from when a job became due, not from when it was created."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from src.config import Settings
from src.database.migrate import upgrade
from src.database.models import EnhancementHistory, utcnow
from src.database.repositories import history
from src.database.repositories.stats import queue_stats
from src.database.session import make_engine, make_session_factory, transaction
from tests.integration.harness import add_tenant_record


def _job(n: int, *, status: str, age: timedelta, retry_in: timedelta | None) -> EnhancementHistory:
    now = utcnow()
    return EnhancementHistory(
        job_id=f"job-{n}",
        correlation_id=f"cid-{n}",
        tenant_id="acme",
        ticket_id=str(n),
        dedupe_key=None if status == "completed" else f"acme:{n}",
        status=status,
        attempts=1,
        created_at=now - age,
        next_attempt_at=None if retry_in is None else now + retry_in,
    )


async def _scenario(settings: Settings) -> tuple[float | None, float | None, float | None]:
    engine = make_engine(settings)
    factory = make_session_factory(engine)
    try:
        async with transaction(factory) as session:
            # Waiting for a retry a minute from now: not waiting in the backlog yet.
            session.add(
                _job(1, status="pending", age=timedelta(days=1), retry_in=timedelta(seconds=60))
            )
            session.add(_job(2, status="completed", age=timedelta(days=2), retry_in=None))
        async with factory() as session:
            only_scheduled = (await queue_stats(session)).oldest_pending_age_seconds
        async with transaction(factory) as session:
            session.add(_job(3, status="pending", age=timedelta(seconds=30), retry_in=None))
        async with factory() as session:
            fresh = (await queue_stats(session)).oldest_pending_age_seconds
        async with transaction(factory) as session:
            assert await history.requeue(session, job_id="job-2")
        async with factory() as session:
            after_requeue = (await queue_stats(session)).oldest_pending_age_seconds
    finally:
        await engine.dispose()
    return only_scheduled, fresh, after_requeue


def test_scheduled_retries_and_requeued_jobs_do_not_age_the_backlog(settings: Settings) -> None:
    upgrade(settings.database_url)
    add_tenant_record(settings, base_url="http://127.0.0.1:9/", api_key="key")
    only_scheduled, fresh, after_requeue = asyncio.run(_scenario(settings))
    assert only_scheduled is None
    assert fresh is not None and 29 <= fresh < 120
    # The two-day-old job re-queued just now is due from now: the 30 s one is still the oldest.
    assert after_requeue is not None and 29 <= after_requeue < 120
