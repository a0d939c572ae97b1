"""Publishing to Celery from a child process, so the API's event loop keeps the GIL.

Celery's ``send_task`` costs ~0.2 ms of Python per message even pipelined. Run in a thread of
the API process, it competed with request handling for the GIL: measured with
``bench/intake.py``, webhook intake ran at ~900 req/s with the dispatcher publishing in a thread
and ~1,700 req/s without it. The dispatcher (outbox query, ``enqueued_at``, reconciler) stays in
the API process; only the publishing itself runs in one spawned child, which holds its own
broker connection. A child that dies is replaced on the next batch; the batch it was
publishing stays unqueued and goes out again (a duplicate message is harmless: the worker's
claim is atomic).
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from celery import Celery

from src.config import Settings
from src.logging import get_logger
from src.queue.redis_queue import publish_jobs

log = get_logger(__name__)

_app: Celery | None = None


def _start_child(settings: Settings) -> None:
    global _app
    from src.workers.celery_app import make_celery  # in the child only

    _app = make_celery(settings)


def _publish_in_child(messages: Sequence[Mapping[str, str]]) -> int:
    assert _app is not None, "publisher child not initialised"
    publish_jobs(_app, messages)
    return len(messages)


class ProcessPublisher:
    """``await publish(messages)`` sends them to the broker from the child process."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_child,
                initargs=(self._settings,),
            )
        return self._pool

    async def publish(self, messages: Sequence[Mapping[str, str]]) -> None:
        """Publish ``messages``; raises the broker's error (or the child's death)."""
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor(), _publish_in_child, messages)
        except BrokenProcessPool:
            log.error("publisher_process_died")
            self.close()
            raise

    async def aclose(self) -> None:
        """Stop the child, as ``close`` (the dispatcher's asynchronous stop hook)."""
        self.close()

    def close(self) -> None:
        """Stop the child (the next ``publish`` starts a new one)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
