"""Fast webhook intake: group-committed job creation.

Each webhook still waits for its row to be durably committed before answering, but concurrent
webhooks share one transaction: while a batch is being written, newly arrived requests queue up
and go together in the next one (no timer, so a lone request is never delayed). Up to
``IN_FLIGHT`` batches are written at once, so the event loop keeps parsing requests while
PostgreSQL flushes a commit instead of idling until it returns. Tenants come from
``TenantCache`` so authentication costs no query per request.

With a ``handoff`` (the scaled deployment's dispatcher), new rows are written already stamped
``enqueued_at`` and handed over in memory once committed, so publishing them costs no outbox
query and no second commit; the dispatcher clears the stamp if publishing fails.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from src.database.repositories.intake import JobRef, NewJob, create_jobs
from src.database.session import SessionFactory, transaction

MAX_BATCH = 500
IN_FLIGHT = 2

Handoff = Callable[[list[dict[str, str]]], None]


class JobIntake:
    """Creates jobs for webhooks, group-committing concurrent requests."""

    def __init__(self, factory: SessionFactory, handoff: Handoff | None = None) -> None:
        self._factory = factory
        self._handoff = handoff
        self._waiting: list[tuple[NewJob, asyncio.Future[JobRef]]] = []
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._writers: set[asyncio.Task[None]] = set()

    async def submit(self, job: NewJob) -> JobRef:
        """Create (or find) the job; returns once its row is committed."""
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._task = asyncio.create_task(self._run(), name="webhook-intake")
        assert self._wake is not None
        future: asyncio.Future[JobRef] = asyncio.get_running_loop().create_future()
        self._waiting.append((job, future))
        self._wake.set()
        return await future

    async def close(self) -> None:
        """Stop the writer task (waiting requests get an error)."""
        tasks = [*self._writers, *([self._task] if self._task is not None else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for _, future in self._waiting:
            if not future.done():
                future.set_exception(RuntimeError("intake stopped"))
        self._waiting.clear()

    async def _run(self) -> None:
        assert self._wake is not None
        slots = asyncio.Semaphore(IN_FLIGHT)
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._waiting:
                await slots.acquire()
                batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
                writer = asyncio.create_task(self._write(batch), name="webhook-intake-batch")
                self._writers.add(writer)
                writer.add_done_callback(self._writers.discard)
                writer.add_done_callback(lambda _: slots.release())

    async def _write(self, batch: list[tuple[NewJob, asyncio.Future[JobRef]]]) -> None:
        try:
            async with transaction(self._factory) as session:
                refs = await create_jobs(
                    session, [job for job, _ in batch], enqueued=self._handoff is not None
                )
        except Exception as exc:  # noqa: BLE001 - handed to every waiting request (HTTP 503)
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        created = [
            {
                "job_id": ref.job_id,
                "ticket_id": job.ticket_id,
                "tenant_id": job.tenant_id,
                "correlation_id": ref.correlation_id,
            }
            for (job, _), ref in zip(batch, refs, strict=True)
            if ref.created
        ]
        if self._handoff is not None and created:
            self._handoff(created)
        for (_, future), ref in zip(batch, refs, strict=True):
            if not future.done():
                future.set_result(ref)
