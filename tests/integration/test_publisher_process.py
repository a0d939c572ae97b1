"""The dispatcher publishes from a child process; a dead child is replaced, nothing is lost."""

from __future__ import annotations

import os
import signal
import uuid
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import redis

from src.queue.publisher import ProcessPublisher
from src.queue.redis_queue import QUEUE
from tests.conftest import make_settings
from tests.integration.scaled import PrivateRedis


def _jobs(n: int) -> list[dict[str, str]]:
    return [
        {"job_id": str(uuid.uuid4()), "ticket_id": str(i), "tenant_id": "acme"} for i in range(n)
    ]


async def test_publishes_from_a_child_and_survives_its_death(
    tmp_path: Path, redis_server: PrivateRedis
) -> None:
    publisher = ProcessPublisher(make_settings(tmp_path, redis_url=redis_server.url))
    broker = redis.Redis.from_url(redis_server.url)
    try:
        await publisher.publish(_jobs(3))
        assert broker.llen(QUEUE) == 3
        pool = publisher._pool  # the child, to kill it
        assert pool is not None
        (child,) = pool._processes
        assert child != os.getpid()
        os.kill(child, signal.SIGKILL)

        published = False
        for _ in range(2):  # the first call may find the pool broken; the next starts a new child
            try:
                await publisher.publish(_jobs(2))
                published = True
                break
            except BrokenProcessPool:
                continue
        assert published
        assert broker.llen(QUEUE) == 5
    finally:
        publisher.close()
        broker.close()


async def test_a_broker_outage_is_raised_to_the_dispatcher(tmp_path: Path) -> None:
    publisher = ProcessPublisher(make_settings(tmp_path, redis_url="redis://127.0.0.1:9/0"))
    try:
        raised = None
        try:
            await publisher.publish(_jobs(1))
        except Exception as exc:  # noqa: BLE001 - whatever kombu raises, it must surface
            raised = exc
        assert raised is not None
        assert "127.0.0.1:9" in str(raised), raised
    finally:
        publisher.close()
