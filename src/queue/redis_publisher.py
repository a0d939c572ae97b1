"""Publishing jobs to a Redis broker straight from the API's event loop, without Celery's client.

Celery's ``send_task`` costs ~0.4-0.8 ms of Python per message on a small machine, even
pipelined and in a child process (measured with ``bench/intake.py``: the publishing child used
two thirds of a core at ~750 webhooks/s, starving the API on a 2-core host). A Celery message
on Redis is one JSON document ``LPUSH``-ed onto the queue's list, so this module writes exactly
that document itself (task message protocol 2, the format Celery 4+ workers read) and sends a
whole batch in one round trip (orjson, a few microseconds of encoding per message).

Only the plain case goes this way: an immediate task on the ``default`` queue, JSON, no
priority. Countdowns, other brokers (RabbitMQ) and hand re-queues keep using Celery's own client
(``src.queue.redis_queue.publish_jobs``).
"""

from __future__ import annotations

import base64
import os
import socket
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import redis.asyncio as aioredis

from src.queue.redis_queue import QUEUE, TASK_NAME, job_message

# Celery's message body for a task without callbacks, chains or chords: [args, kwargs, embed].
_EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}
_ORIGIN = f"gen{os.getpid()}@{socket.gethostname()}"
# A Redis that stops answering (not refusing) must not hang a publish or a worker forever.
BROKER_SOCKET_TIMEOUT_SECONDS = 10


def celery_task_message(job: Mapping[str, Any], *, origin: str = _ORIGIN) -> bytes:
    """The broker document Celery would ``LPUSH`` for ``enhance_ticket(job)`` (protocol 2)."""
    payload = job_message(job)
    task_id = str(uuid.uuid4())
    body = orjson.dumps([[payload], {}, _EMBED])
    headers: dict[str, Any] = {
        "lang": "py",
        "task": TASK_NAME,
        "id": task_id,
        "shadow": None,
        "eta": None,
        "expires": None,
        "group": None,
        "group_index": None,
        "retries": 0,
        "timelimit": [None, None],
        "root_id": task_id,
        "parent_id": None,
        "argsrepr": repr([payload]),
        "kwargsrepr": "{}",
        "origin": origin,
        "ignore_result": None,
        "replaced_task_nesting": 0,
        "stamped_headers": None,
        "stamps": {},
        "correlation_id": payload.get("correlation_id", ""),
    }
    envelope = {
        "body": base64.b64encode(body).decode(),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": headers,
        "properties": {
            "correlation_id": task_id,
            "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": QUEUE},
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": str(uuid.uuid4()),
        },
    }
    return orjson.dumps(envelope)


class RedisPublisher:
    """``await publish(messages)`` pushes them onto the ``default`` queue in one round trip."""

    def __init__(self, broker_url: str, *, timeout_seconds: float) -> None:
        self._client = aioredis.Redis.from_url(
            broker_url,
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
        )

    async def publish(self, messages: Sequence[Mapping[str, Any]]) -> None:
        """Publish ``messages``; raises the broker's error when Redis is down or slow."""
        if not messages:
            return
        documents = [celery_task_message(message) for message in messages]
        # kombu consumes from the right (BRPOP), so LPUSH in order keeps the queue FIFO.
        await self._client.lpush(QUEUE, *documents)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()
