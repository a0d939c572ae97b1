"""Queries on ``enhancement_history``: create (deduplicated), claim with a lease, finish.

Claiming is one conditional ``UPDATE ... RETURNING``, so two workers (threads, processes or
machines) can never both own a job; finishing is conditioned on the claim's ``lease_token``, so
a worker whose lease expired and was taken over cannot overwrite the new owner's result.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from src.database.models import EnhancementHistory, utcnow
from src.database.session import Executor

H = EnhancementHistory
# The hot-path UPDATEs (claim, finish, mark_enqueued) are Core statements on the table: given
# the ORM entity, SQLAlchemy runs its bulk-update machinery for each (measured: a visible share
# of the worker's CPU per job), though our sessions never read back the rows they update.
T = EnhancementHistory.metadata.tables[EnhancementHistory.__tablename__]


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    """A job this worker owns until ``lease_expires_at``."""

    job_id: str
    correlation_id: str
    tenant_id: str
    ticket_id: str
    attempts: int
    lease_token: str
    retry_base: int = 0  # ``attempts`` at the last operator re-queue


@dataclass(slots=True)
class JobOutcome:
    """Everything a finished attempt records; ``status`` is the row's next status."""

    status: str
    error_message: str | None = None
    next_attempt_at: datetime | None = None
    values: dict[str, Any] = field(default_factory=dict)


def dedupe_key(tenant_id: str, ticket_id: str) -> str:
    """Key that allows one live (pending/processing/completed) job per ticket."""
    return f"{tenant_id}:{ticket_id}"


def _claimable(now: datetime | ColumnElement[Any]) -> ColumnElement[bool]:
    c = T.c
    return or_(
        and_(c.status == "pending", or_(c.next_attempt_at.is_(None), c.next_attempt_at <= now)),
        and_(c.status == "processing", c.lease_expires_at < now),
    )


async def due_job_ids(
    session: AsyncSession, *, limit: int, exclude: set[str] | frozenset[str] = frozenset()
) -> list[str]:
    """IDs of jobs that may be claimed now, oldest first, skipping ``exclude``."""
    stmt = select(H.job_id).where(_claimable(utcnow())).order_by(H.id).limit(limit + len(exclude))
    ids = [job_id for job_id in await session.scalars(stmt) if job_id not in exclude]
    return ids[:limit]


async def unqueued_job_messages(session: AsyncSession, *, limit: int) -> list[dict[str, str]]:
    """Task payloads of pending jobs never handed to the broker (the outbox), oldest first.

    Only the four payload columns are read: the dispatcher runs this for every batch, and
    loading whole ORM rows was a visible share of the API's CPU under webhook load.
    """
    stmt = (
        select(H.job_id, H.ticket_id, H.tenant_id, H.correlation_id)
        .where(H.status == "pending", H.enqueued_at.is_(None))
        .order_by(H.id)
        .limit(limit)
    )
    return [
        {"job_id": j, "ticket_id": t, "tenant_id": n, "correlation_id": c}
        for j, t, n, c in await session.execute(stmt)
    ]


async def stranded_jobs(
    session: AsyncSession, *, older_than_seconds: float, limit: int
) -> list[EnhancementHistory]:
    """Jobs whose queue message may be lost: the reconciler publishes them again.

    ``pending`` rows not published (or last published) and not due for longer than the
    threshold, and ``processing`` rows whose lease expired (their worker died) and that were
    not re-published within the threshold.
    """
    now = utcnow()
    cutoff = now - timedelta(seconds=older_than_seconds)
    not_recently_sent = or_(H.enqueued_at.is_(None), H.enqueued_at < cutoff)
    pending = and_(
        H.status == "pending",
        or_(H.enqueued_at < cutoff, and_(H.enqueued_at.is_(None), H.created_at < cutoff)),
        or_(H.next_attempt_at.is_(None), H.next_attempt_at < cutoff),
    )
    expired = and_(H.status == "processing", H.lease_expires_at < now, not_recently_sent)
    stmt = select(H).where(or_(pending, expired)).order_by(H.id).limit(limit)
    return list(await session.scalars(stmt))


async def mark_enqueued(session: AsyncSession, *, job_ids: list[str]) -> None:
    """Record that these jobs were handed to the broker now."""
    if job_ids:
        await session.execute(update(T).where(T.c.job_id.in_(job_ids)).values(enqueued_at=utcnow()))


async def clear_enqueued(session: AsyncSession, *, job_ids: list[str]) -> None:
    """Put pending jobs back in the outbox (``enqueued_at`` NULL): their publish failed."""
    if job_ids:
        stmt = update(T).where(T.c.job_id.in_(job_ids), T.c.status == "pending")
        await session.execute(stmt.values(enqueued_at=None))


@functools.cache
def _claim_statement() -> Any:
    """The claim, built once: constructing it cost more CPU than running it, on every job."""
    c = T.c
    now = bindparam("now", type_=c.lease_expires_at.type)
    return (
        update(T)
        .where(c.job_id == bindparam("claim_job_id"), _claimable(now))
        .values(
            status="processing",
            attempts=c.attempts + 1,
            lease_token=bindparam("token"),
            lease_expires_at=bindparam("expires", type_=c.lease_expires_at.type),
            started_at=func.coalesce(c.started_at, now),
            next_attempt_at=None,
        )
        .returning(c.correlation_id, c.tenant_id, c.ticket_id, c.attempts, c.retry_base)
    )


async def claim(session: Executor, *, job_id: str, lease_seconds: float) -> ClaimedJob | None:
    """Take ownership of ``job_id`` if claimable; None when another worker has it or it ended."""
    now = utcnow()
    token = str(uuid.uuid4())
    params = {
        "claim_job_id": job_id,
        "now": now,
        "token": token,
        "expires": now + timedelta(seconds=lease_seconds),
    }
    row = (await session.execute(_claim_statement(), params)).one_or_none()
    if row is None:
        return None
    return ClaimedJob(
        job_id,
        row.correlation_id,
        row.tenant_id,
        row.ticket_id,
        row.attempts,
        token,
        row.retry_base,
    )


@functools.cache
def _finish_statement(columns: tuple[str, ...]) -> Any:
    """The outcome update for one set of recorded columns, built once per set."""
    return (
        update(T)
        .where(T.c.job_id == bindparam("finish_job_id"), T.c.lease_token == bindparam("lease"))
        .values({name: bindparam(f"v_{name}", type_=T.c[name].type) for name in columns})
    )


async def finish(session: Executor, *, job: ClaimedJob, outcome: JobOutcome) -> bool:
    """Record an attempt's outcome; False if the lease was lost to another worker meanwhile."""
    values: dict[str, Any] = {
        **outcome.values,
        "status": outcome.status,
        "error_message": outcome.error_message,
        "lease_token": None,
        "lease_expires_at": None,
        "next_attempt_at": outcome.next_attempt_at,
    }
    if outcome.status in ("completed", "failed"):
        values["completed_at"] = utcnow()
    if outcome.status == "failed":
        values["dedupe_key"] = None
    columns = tuple(sorted(values))
    params = {f"v_{name}": values[name] for name in columns}
    params.update(finish_job_id=job.job_id, lease=job.lease_token)
    result = await session.execute(_finish_statement(columns), params)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def requeue(session: AsyncSession, *, job_id: str) -> bool:
    """Put a job back to ``pending`` (for operators); a failed job gets its dedupe key back.

    Returns False if the job is processing or another live job exists for the same ticket
    (``src.database.repositories.requeue.refusal`` says which).

    ``attempts`` keeps counting (a job that already ran makes attempt 2 or later next, so
    ``write_back`` first looks for a note carrying the correlation ID and adopts it instead of
    posting a second one: a re-queued completed job never writes twice). ``retry_base`` is set
    to it, so the job-level retry budget (``ENHANCEMENT_MAX_RETRIES``) starts over in full.
    ``enqueued_at`` is cleared so the dispatcher publishes it.
    """
    row = await session.scalar(select(H).where(H.job_id == job_id))
    if row is None or row.status == "processing":
        return False
    key = dedupe_key(row.tenant_id, row.ticket_id)
    other = await session.scalar(select(H.id).where(H.dedupe_key == key, H.id != row.id))
    if other is not None:
        return False
    # Due now: the backlog's age counts from the re-queue, not from the job's creation.
    row.status, row.dedupe_key, row.next_attempt_at = "pending", key, utcnow()
    row.error_message, row.completed_at, row.retry_base = None, None, row.attempts
    row.enqueued_at, row.lease_token, row.lease_expires_at = None, None, None
    return True


async def next_attempt_at(session: AsyncSession, *, job_id: str) -> datetime | None:
    """When a job waiting for a retry may be claimed again (None: now, or no such job)."""
    due: datetime | None = await session.scalar(select(H.next_attempt_at).where(H.job_id == job_id))
    return due


async def get_job(
    session: AsyncSession, *, correlation_id: str | None = None, job_id: str | None = None
) -> EnhancementHistory | None:
    """One job by correlation ID or job ID."""
    cond = H.correlation_id == correlation_id if correlation_id else H.job_id == job_id
    return await session.scalar(select(H).where(cond))


async def list_jobs(
    session: AsyncSession,
    *,
    status: str | None = None,
    tenant_id: str | None = None,
    ticket_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[EnhancementHistory]:
    """Jobs newest first, filtered by any of status, tenant and ticket."""
    stmt = select(H).order_by(H.id.desc()).limit(limit).offset(offset)
    if status:
        stmt = stmt.where(H.status == status)
    if tenant_id:
        stmt = stmt.where(H.tenant_id == tenant_id)
    if ticket_id:
        stmt = stmt.where(H.ticket_id == ticket_id)
    return list(await session.scalars(stmt))
