"""Queries on ``runtime_flags``: read and set operator switches."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from src.database.models import RuntimeFlag, utcnow

DISABLE_LLM_SYNTHESIS = "disable_llm_synthesis"
"""Flag name: true makes every job use the formatted fallback (``enhancer llm disable``)."""


async def get_flag(session: AsyncSession, *, name: str, default: Any = None) -> Any:
    """The flag's value, or ``default`` when it was never set."""
    value = await session.scalar(select(RuntimeFlag.value).where(RuntimeFlag.name == name))
    return default if value is None else value


async def get_flags(session: AsyncSession) -> dict[str, Any]:
    """Every flag that has been set."""
    rows = await session.execute(select(RuntimeFlag.name, RuntimeFlag.value))
    return {str(name): value for name, value in rows}


async def set_flag(
    session: AsyncSession, *, name: str, value: Any, updated_by: str | None = None
) -> None:
    """Create or replace a flag."""
    row = await session.get(RuntimeFlag, name)
    if row is None:
        session.add(RuntimeFlag(name=name, value=value, updated_by=updated_by, updated_at=utcnow()))
        return
    row.value, row.updated_by, row.updated_at = value, updated_by, utcnow()
