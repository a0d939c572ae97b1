"""The dispatcher's direct Redis publisher writes what Celery itself would, and surfaces outages.

The end-to-end proof (a real Celery worker running jobs published this way) is in
``test_scaled.py`` and ``test_scaled_faults.py``, whose API publishes through it.
"""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import redis

from src.errors import ValidationFailed
from src.queue.redis_publisher import RedisPublisher
from src.queue.redis_queue import QUEUE, publish_jobs
from src.workers.celery_app import make_celery
from tests.conftest import make_settings
from tests.integration.scaled import PrivateRedis

# Unique per message (task ids, delivery tags), per publishing process, or result-backend only.
_PER_MESSAGE = {"id", "root_id", "origin", "correlation_id", "delivery_tag", "reply_to"}


def _job(n: int) -> dict[str, str]:
    return {
        "job_id": str(uuid.uuid4()),
        "ticket_id": str(n),
        "tenant_id": "acme",
        "correlation_id": f"corr-{n}",
    }


def _shape(document: bytes) -> dict[str, Any]:
    """The message without its per-message values, body decoded."""
    message = json.loads(document)
    message["body"] = json.loads(base64.b64decode(message["body"]))
    for section in ("headers", "properties"):
        for key in _PER_MESSAGE:
            message[section].pop(key, None)
    return message


async def test_messages_match_celerys_own_and_keep_order(
    tmp_path: Path, redis_server: PrivateRedis
) -> None:
    broker = redis.Redis.from_url(redis_server.url)
    publisher = RedisPublisher(redis_server.url, timeout_seconds=2)
    first = _job(1)
    try:
        publish_jobs(make_celery(make_settings(tmp_path, redis_url=redis_server.url)), [first])
        (celerys,) = broker.lrange(QUEUE, 0, -1)
        broker.delete(QUEUE)

        jobs = [first, _job(2), _job(3)]
        await publisher.publish(jobs)
        # Consumers pop from the right: the oldest job must be there.
        documents = list(reversed(broker.lrange(QUEUE, 0, -1)))
    finally:
        await publisher.aclose()
        broker.close()

    assert _shape(documents[0]) == _shape(celerys)
    ours = json.loads(documents[0])
    assert ours["headers"]["correlation_id"] == "corr-1"
    assert ours["headers"]["root_id"] == ours["headers"]["id"]
    assert ours["properties"]["correlation_id"] == ours["headers"]["id"]
    assert [_shape(d)["body"][0][0] for d in documents] == jobs
    tags = {json.loads(d)["properties"]["delivery_tag"] for d in documents}
    assert len(tags) == 3


async def test_a_broker_outage_is_raised_to_the_dispatcher() -> None:
    publisher = RedisPublisher("redis://127.0.0.1:9/0", timeout_seconds=1)
    try:
        with pytest.raises(redis.ConnectionError, match=r"127\.0\.0\.1:9"):
            await publisher.publish([_job(1)])
    finally:
        await publisher.aclose()


async def test_an_invalid_job_is_refused_before_anything_is_sent(
    redis_server: PrivateRedis,
) -> None:
    publisher = RedisPublisher(redis_server.url, timeout_seconds=2)
    broker = redis.Redis.from_url(redis_server.url)
    try:
        with pytest.raises(ValidationFailed, match="job_id"):
            await publisher.publish([_job(1), {"ticket_id": "2"}])
        assert broker.llen(QUEUE) == 0
    finally:
        await publisher.aclose()
        broker.close()
