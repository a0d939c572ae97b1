"""Choosing jobs to re-queue and explaining why one cannot be (operators' ``enhancer requeue``).

Re-queueing itself is ``history.requeue``: one live job per ticket, never a job that is
``processing``, and the note check on the next run so nothing is posted twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from src.database.models import EnhancementHistory
from src.database.repositories.history import dedupe_key, requeue

H = EnhancementHistory
MAX_SELECTED = 1000


@dataclass(frozen=True, slots=True)
class Selector:
    """Which jobs: exactly one of correlation ID, job ID, ticket (with tenant), or status+since."""

    correlation_id: str | None = None
    job_id: str | None = None
    tenant_id: str | None = None
    ticket_id: str | None = None
    status: str | None = None
    since: datetime | None = None


@dataclass(frozen=True, slots=True)
class RequeueResult:
    """What happened to one selected job."""

    job_id: str
    correlation_id: str
    tenant_id: str
    ticket_id: str
    previous_status: str
    requeued: bool
    reason: str | None = None


async def select_jobs(session: AsyncSession, selector: Selector) -> list[EnhancementHistory]:
    """The selected jobs, newest first; a ticket selector gives the ticket's newest job."""
    stmt = select(H).order_by(H.id.desc())
    if selector.correlation_id:
        stmt = stmt.where(H.correlation_id == selector.correlation_id)
    elif selector.job_id:
        stmt = stmt.where(H.job_id == selector.job_id)
    elif selector.ticket_id and selector.tenant_id:
        stmt = stmt.where(H.tenant_id == selector.tenant_id, H.ticket_id == selector.ticket_id)
        stmt = stmt.limit(1)
    elif selector.status:
        stmt = stmt.where(H.status == selector.status)
        if selector.tenant_id:
            stmt = stmt.where(H.tenant_id == selector.tenant_id)
        if selector.since is not None:
            stmt = stmt.where(H.created_at >= selector.since)
        stmt = stmt.limit(MAX_SELECTED)
    else:
        raise ValueError("no selector given")
    return list(await session.scalars(stmt))


async def refusal(session: AsyncSession, row: EnhancementHistory) -> str | None:
    """Why ``row`` cannot be re-queued now, or None when it can."""
    if row.status == "processing":
        return "job is processing (wait for it, or for its lease to expire)"
    key = dedupe_key(row.tenant_id, row.ticket_id)
    other = await session.scalar(select(H).where(H.dedupe_key == key, H.id != row.id))
    if other is not None:
        return f"ticket already has a live job {other.correlation_id} ({other.status})"
    return None


async def requeue_selected(
    session: AsyncSession, selector: Selector, *, dry_run: bool = False
) -> list[RequeueResult]:
    """Re-queue every selected job that may be; the caller commits (or not, for a dry run)."""
    results = []
    taken: set[str] = set()  # tickets given a live job by this call (matters for dry runs)
    for row in await select_jobs(session, selector):
        previous = row.status
        key = dedupe_key(row.tenant_id, row.ticket_id)
        reason = await refusal(session, row)
        if reason is None and key in taken:
            reason = "a newer job of this ticket is re-queued instead"
        if reason is None:
            taken.add(key)
        done = False
        if reason is None and not dry_run:
            done = await requeue(session, job_id=row.job_id)
            await session.flush()  # the dedupe key is now taken for this ticket's older jobs
        results.append(
            RequeueResult(
                job_id=row.job_id,
                correlation_id=row.correlation_id,
                tenant_id=row.tenant_id,
                ticket_id=row.ticket_id,
                previous_status=previous,
                requeued=done or (dry_run and reason is None),
                reason=reason,
            )
        )
    return results
