"""The API-side dispatcher for the scaled deployment: outbox rows → Celery, off the request path.

The webhook only commits the ``enhancement_history`` row. Rows committed by this process's
intake arrive through ``hand_over`` already stamped ``enqueued_at`` and are published straight
from memory; a failed publish clears the stamp. The outbox query then finds them, with any row
left unqueued (a restart, a failed publish), and those are published and stamped. Publishing is
``src.queue.redis_publisher`` on Redis, a child process running Celery's client otherwise
(``src.queue.publisher``). The loop also runs the reconciler periodically, which re-publishes a
row whose stamp is old while it is still pending (e.g. the process died between commit and
publish). If the broker is down, webhooks still answer 202; the rows wait ``pending`` and go
out when it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from src.config import Settings
from src.database.repositories import history
from src.database.session import SessionFactory, transaction
from src.logging import get_logger

log = get_logger(__name__)

PublishBatch = Callable[[list[dict[str, str]]], Awaitable[None]]
Reconcile = Callable[[], Awaitable[int]]


class CeleryDispatcher:
    """Implements ``JobQueue`` by publishing committed jobs to the broker."""

    def __init__(
        self,
        factory: SessionFactory,
        settings: Settings,
        publish: PublishBatch,
        reconcile: Reconcile | None = None,
        on_stop: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._factory = factory
        self._settings = settings
        self._publish = publish
        self._reconcile = reconcile
        self._on_stop = on_stop
        self._handed: list[dict[str, str]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._last_error: str | None = None
        self._published = 0

    async def start(self) -> None:
        """Start the publishing loop."""
        self._stopping = False
        self._task = asyncio.create_task(self._loop(), name="celery-dispatcher")

    async def stop(self) -> None:
        """Stop the loop; unpublished rows stay in the outbox for the next start."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
        if self._on_stop is not None:
            await self._on_stop()

    def notify(self, job_id: str) -> None:
        """A job was committed: publish soon."""
        self._wake.set()

    def hand_over(self, messages: list[dict[str, str]]) -> None:
        """Committed jobs stamped ``enqueued_at`` by intake: publish them from memory."""
        self._handed.extend(messages)
        self._wake.set()

    def describe(self) -> dict[str, object]:
        """Kind, messages published by this process and the last publish error."""
        return {"kind": "celery", "published": self._published, "last_error": self._last_error}

    async def _loop(self) -> None:
        next_reconcile = time.monotonic() + self._settings.reconcile_interval_seconds
        backoff = self._settings.dispatcher_poll_seconds
        while not self._stopping or self._handed:
            self._wake.clear()
            sent = await (self._publish_handed() if self._handed else self._dispatch_batch())
            if sent is None:
                backoff = min(backoff * 2, 30.0)
            else:
                backoff = self._settings.dispatcher_poll_seconds
            if self._reconcile is not None and time.monotonic() >= next_reconcile:
                next_reconcile = time.monotonic() + self._settings.reconcile_interval_seconds
                await self._run_reconcile()
            if sent or self._stopping:
                continue  # there may be more waiting
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), backoff)

    async def _publish_handed(self) -> int | None:
        """Publish handed-over jobs; on failure put them back in the outbox."""
        size = self._settings.dispatcher_batch_size
        messages, self._handed = self._handed[:size], self._handed[size:]
        try:
            await self._publish(messages)
        except Exception as exc:  # noqa: BLE001 - broker outage: logged, rows back to the outbox
            self._last_error = f"{type(exc).__name__}: {exc}"[:300]
            log.error("dispatch_failed", error=self._last_error)
            await self._return_to_outbox([m["job_id"] for m in messages])
            return None
        self._last_error = None
        self._published += len(messages)
        return len(messages)

    async def _return_to_outbox(self, job_ids: list[str]) -> None:
        try:
            async with transaction(self._factory) as session:
                await history.clear_enqueued(session, job_ids=job_ids)
        except Exception as exc:  # noqa: BLE001 - the reconciler re-publishes them later
            log.error(
                "dispatch_unmark_failed",
                jobs=len(job_ids),
                error=f"{type(exc).__name__}: {exc}"[:300],
            )

    async def _dispatch_batch(self) -> int | None:
        """Publish one batch; None when publishing failed (the rows stay unqueued)."""
        try:
            async with self._factory() as session:
                messages = await history.unqueued_job_messages(
                    session, limit=self._settings.dispatcher_batch_size
                )
            if not messages:
                return 0
            await self._publish(messages)
            async with transaction(self._factory) as session:
                await history.mark_enqueued(session, job_ids=[m["job_id"] for m in messages])
        except Exception as exc:  # noqa: BLE001 - broker/db outage: logged, rows stay pending
            self._last_error = f"{type(exc).__name__}: {exc}"[:300]
            log.error("dispatch_failed", error=self._last_error)
            return None
        self._last_error = None
        self._published += len(messages)
        return len(messages)

    async def _run_reconcile(self) -> None:
        assert self._reconcile is not None
        try:
            await self._reconcile()
        except Exception as exc:  # noqa: BLE001 - logged; the next tick tries again
            log.error("reconcile_failed", error=f"{type(exc).__name__}: {exc}"[:300])
