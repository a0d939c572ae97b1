"""Read-only aggregates over ``enhancement_history`` for metrics and health checks."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from src.database.models import EnhancementHistory, utcnow

H = EnhancementHistory


@dataclass(frozen=True, slots=True)
class QueueStats:
    """Live jobs by status and the age of the oldest pending one (None when none is)."""

    depth: dict[str, int] = field(default_factory=dict)
    oldest_pending_age_seconds: float | None = None


async def ping(session: AsyncSession) -> None:
    """Run ``SELECT 1``; raises the driver's error when the database is unreachable."""
    await session.execute(text("SELECT 1"))


async def queue_stats(session: AsyncSession) -> QueueStats:
    """Counts of ``pending`` and ``processing`` jobs and the oldest pending job's age."""
    rows = await session.execute(
        select(H.status, func.count())
        .where(H.status.in_(("pending", "processing")))
        .group_by(H.status)
    )
    depth = {str(status): int(count) for status, count in rows}
    # A job waits from when it became due: its creation, or the retry time or re-queue that made
    # it pending again. One scheduled for a later retry is not waiting yet, and a job re-queued
    # today does not count the days since it was created.
    now = utcnow()
    oldest = await session.scalar(
        select(func.min(func.coalesce(H.next_attempt_at, H.created_at))).where(
            H.status == "pending", or_(H.next_attempt_at.is_(None), H.next_attempt_at <= now)
        )
    )
    age = None if oldest is None else max((now - oldest).total_seconds(), 0.0)
    return QueueStats(depth=depth, oldest_pending_age_seconds=age)
