"""Queries on ``itsm_tickets`` and the per-platform ITSM switches in ``runtime_flags``."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from src.database.models import ItsmTicket
from src.database.repositories.flags import get_flag, set_flag

_FLAG = "itsm.{platform}_enabled"
_FINAL_STATES = ("7", "8")


async def platform_enabled(session: AsyncSession, *, platform: str) -> bool:
    """Whether creation on ``platform`` is switched on (it is until an operator says not)."""
    return bool(await get_flag(session, name=_FLAG.format(platform=platform), default=True))


async def set_platform_enabled(
    session: AsyncSession, *, platform: str, enabled: bool, updated_by: str | None = None
) -> None:
    """Switch creation on ``platform`` on or off for every process."""
    await set_flag(
        session, name=_FLAG.format(platform=platform), value=enabled, updated_by=updated_by
    )


async def add_ticket(session: AsyncSession, *, ticket: ItsmTicket) -> ItsmTicket:
    """Store a creation attempt (created or failed)."""
    session.add(ticket)
    await session.flush()
    return ticket


async def get_ticket(session: AsyncSession, *, ticket_id: str) -> ItsmTicket | None:
    """One ticket by our id."""
    return await session.get(ItsmTicket, ticket_id)


async def list_tickets(
    session: AsyncSession,
    *,
    platform: str | None = None,
    job_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Sequence[ItsmTicket]:
    """Tickets newest first, optionally for one platform or one enhancement job."""
    query = select(ItsmTicket).order_by(ItsmTicket.created_at.desc(), ItsmTicket.id)
    if platform is not None:
        query = query.where(ItsmTicket.platform == platform)
    if job_id is not None:
        query = query.where(ItsmTicket.job_id == job_id)
    return (await session.scalars(query.limit(limit).offset(offset))).all()


async def list_unresolved(session: AsyncSession, *, limit: int = 500) -> Sequence[ItsmTicket]:
    """Created tickets not yet resolved, closed or canceled: the ones a sync must read."""
    query = (
        select(ItsmTicket)
        .where(
            ItsmTicket.status == "created",
            ItsmTicket.resolved_at.is_(None),
            (ItsmTicket.remote_state.is_(None)) | (ItsmTicket.remote_state.not_in(_FINAL_STATES)),
        )
        .order_by(ItsmTicket.synced_at.is_not(None), ItsmTicket.synced_at, ItsmTicket.created_at)
        .limit(limit)
    )
    return (await session.scalars(query)).all()
