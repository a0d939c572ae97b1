"""The embedded queue: an in-process asyncio pool that polls the database for due jobs.

It keeps up to ``WORKER_CONCURRENCY`` jobs in flight (a job is nearly all waiting on HTTP),
is woken at once by ``notify`` after a webhook commits, and otherwise polls every
``WORKER_POLL_SECONDS``, which is also how it picks up retries whose ``next_attempt_at`` has come
and jobs whose lease expired after a crash or restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.exc import SQLAlchemyError

from src.database.repositories.history import due_job_ids
from src.database.session import SessionFactory
from src.logging import get_logger

log = get_logger(__name__)

RunJob = Callable[[str], Awaitable[object]]


class EmbeddedWorkerPool:
    """Claims and runs due jobs in this process; implements ``JobQueue``."""

    def __init__(
        self,
        factory: SessionFactory,
        run_job: RunJob,
        *,
        concurrency: int,
        poll_seconds: float,
        on_stop: Callable[[], Awaitable[None]] | None = None,
        periodic: Sequence[tuple[float, Callable[[], Awaitable[object]]]] = (),
    ) -> None:
        self._factory = factory
        self._run_job = run_job
        self._concurrency = concurrency
        self._poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._on_stop = on_stop
        self._periodic = list(periodic)
        self._next_run = [0.0] * len(self._periodic)
        self._periodic_tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Start the polling loop."""
        self._stopping = False
        self._loop_task = asyncio.create_task(self._loop(), name="embedded-worker-pool")

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Stop polling; give in-flight jobs ``grace_seconds``, then cancel (leases cover them)."""
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            await self._loop_task
        if self._in_flight:
            _, pending = await asyncio.wait(self._in_flight.values(), timeout=grace_seconds)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._on_stop is not None:
            await self._on_stop()

    def notify(self, job_id: str) -> None:
        """Wake the loop now instead of at the next poll."""
        self._wake.set()

    def describe(self) -> dict[str, object]:
        """Kind, concurrency and jobs in flight."""
        return {
            "kind": "embedded",
            "concurrency": self._concurrency,
            "in_flight": len(self._in_flight),
            "running": self._loop_task is not None and not self._loop_task.done(),
        }

    def _start_due_periodic(self) -> None:
        now = time.monotonic()
        for index, (interval, work) in enumerate(self._periodic):
            if now >= self._next_run[index]:
                self._next_run[index] = now + interval
                task = asyncio.create_task(self._run_periodic(work))
                self._periodic_tasks.add(task)
                task.add_done_callback(self._periodic_tasks.discard)

    async def _run_periodic(self, work: Callable[[], Awaitable[object]]) -> None:
        try:
            await work()
        except Exception:
            log.exception("periodic_task_failed")

    async def _loop(self) -> None:
        while not self._stopping:
            self._wake.clear()
            self._start_due_periodic()
            free = self._concurrency - len(self._in_flight)
            found = 0
            if free > 0:
                found = await self._dispatch(free)
            if found >= free > 0:
                continue  # more may be waiting; look again at once
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_seconds)

    async def _dispatch(self, free: int) -> int:
        try:
            async with self._factory() as session:
                ids = await due_job_ids(session, limit=free, exclude=set(self._in_flight))
        except SQLAlchemyError as exc:
            log.error("worker_poll_failed", error=f"Database connection lost: {exc}"[:500])
            return 0
        for job_id in ids:
            self._in_flight[job_id] = asyncio.create_task(self._run(job_id), name=f"job-{job_id}")
        return len(ids)

    async def _run(self, job_id: str) -> None:
        try:
            await self._run_job(job_id)
        except SQLAlchemyError as exc:
            log.error("job_db_error", job_id=job_id, error=f"Database connection lost: {exc}"[:500])
        except Exception:
            log.exception("job_runner_crashed", job_id=job_id)
        finally:
            self._in_flight.pop(job_id, None)
            self._wake.set()
