"""Intake hands committed jobs to the dispatcher in memory; a failed publish returns them to the
outbox, and they go out when the broker is back. No Celery worker runs here: the Redis list is
what the dispatcher published."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from src.config import Settings
from src.queue.redis_queue import QUEUE
from tests.fakes.sdp import RunningSDP
from tests.integration.harness import add_tenant, running_api
from tests.integration.scaled import PrivateRedis


def _enqueued(
    settings: Settings, correlation_ids: list[str], *, column: str = "enqueued_at IS NOT NULL"
) -> list[bool]:
    async def read() -> list[bool]:
        engine = create_async_engine(settings.database_url)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    text(
                        f"SELECT correlation_id, {column} FROM enhancement_history"
                        " WHERE correlation_id = ANY(:ids)"
                    ),
                    {"ids": correlation_ids},
                )
                found = {cid: bool(flag) for cid, flag in rows}
        finally:
            await engine.dispose()
        return [bool(found[c]) for c in correlation_ids]

    return asyncio.run(read())


def _eventually(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_handed_over_jobs_are_published_and_a_failed_publish_returns_them_to_the_outbox(
    scaled_settings: Settings, sdp: RunningSDP, redis_server: PrivateRedis
) -> None:
    add_tenant(scaled_settings, sdp)
    broker = redis.Redis.from_url(redis_server.url)
    with running_api(scaled_settings) as api:
        first = [api.webhook(sdp.state.add_request(f"Disk {i}")) for i in range(5)]
        assert [r.status_code for r in first] == [202] * 5
        _eventually(lambda: int(broker.llen(QUEUE)) == 5)
        first_ids = [r.json()["correlation_id"] for r in first]
        # Stamped by the intake's own insert (handed over in memory), not by an outbox pass.
        stamped_at_insert = _enqueued(scaled_settings, first_ids, column="enqueued_at = created_at")
        assert stamped_at_insert == [True] * 5

        redis_server.stop()
        later = [api.webhook(sdp.state.add_request(f"Printer {i}")) for i in range(3)]
        assert [r.status_code for r in later] == [202] * 3
        later_ids = [r.json()["correlation_id"] for r in later]
        # The publish failed: the rows are back in the outbox, the failure is on /health.
        _eventually(lambda: _enqueued(scaled_settings, later_ids) == [False] * 3)
        queue = api.client.get("/health/enhancement").json()["checks"]["queue"]
        assert queue["published"] == 5, queue
        assert "Connection refused" in queue["last_error"], queue

        redis_server.start()
        broker = redis.Redis.from_url(redis_server.url)  # a new server: an empty list
        _eventually(lambda: int(broker.llen(QUEUE)) == 3, timeout=60)
        assert _enqueued(scaled_settings, later_ids) == [True] * 3
    broker.close()
