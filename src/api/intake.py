"""Fast webhook intake: cached tenants and group-committed job creation.

Each webhook still waits for its row to be durably committed before answering, but concurrent
webhooks share one transaction: while a batch is being written, newly arrived requests queue up
and go together in the next one (no timer, so a lone request is never delayed). Tenants are
cached for ``TENANT_CACHE_SECONDS`` so authentication costs no query per request.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from src.database.crypto import SecretBox
from src.database.repositories.intake import JobRef, NewJob, create_jobs
from src.database.repositories.tenants import Tenant, get_tenant
from src.database.session import SessionFactory, transaction
from src.errors import NotFoundError

MAX_BATCH = 500


@dataclass
class TenantCache:
    """Decrypted tenants by id, each kept for ``ttl`` seconds (unknown ids too)."""

    factory: SessionFactory
    box: SecretBox
    ttl: float
    _entries: dict[str, tuple[float, Tenant | None]] = field(default_factory=dict)

    async def get(self, tenant_id: str) -> Tenant:
        """The tenant; raises ``NotFoundError`` for an unknown id."""
        now = time.monotonic()
        entry = self._entries.get(tenant_id)
        if entry is None or entry[0] < now:
            try:
                async with self.factory() as session:
                    tenant: Tenant | None = await get_tenant(
                        session, box=self.box, tenant_id=tenant_id
                    )
            except NotFoundError:
                tenant = None
            entry = (now + self.ttl, tenant)
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[tenant_id] = entry
        if entry[1] is None:
            raise NotFoundError(f"Unknown tenant '{tenant_id}'")
        return entry[1]


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
