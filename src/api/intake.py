"""Fast webhook intake: group-committed job creation.

Each webhook still waits for its row to be durably committed before answering, but concurrent
webhooks share one transaction: while a batch is being written, newly arrived requests queue up
and go together in the next one (no timer, so a lone request is never delayed). Tenants come
from ``TenantCache`` so authentication costs no query per request.
"""

from __future__ import annotations

import asyncio

from src.database.repositories.intake import JobRef, NewJob, create_jobs
from src.database.session import SessionFactory, transaction

MAX_BATCH = 500


class JobIntake:
    """Creates jobs for webhooks, group-committing concurrent requests."""

    def __init__(self, factory: SessionFactory) -> None:
        self._factory = factory
        self._waiting: list[tuple[NewJob, asyncio.Future[JobRef]]] = []
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

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
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for _, future in self._waiting:
            if not future.done():
                future.set_exception(RuntimeError("intake stopped"))
        self._waiting.clear()

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._waiting:
                batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
                await self._write(batch)

    async def _write(self, batch: list[tuple[NewJob, asyncio.Future[JobRef]]]) -> None:
        try:
            async with transaction(self._factory) as session:
                refs = await create_jobs(session, [job for job, _ in batch])
        except Exception as exc:  # noqa: BLE001 - handed to every waiting request (HTTP 503)
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), ref in zip(batch, refs, strict=True):
            if not future.done():
                future.set_result(ref)
