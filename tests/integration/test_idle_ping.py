"""Autocommit pools ping a connection at checkout only after it sat idle (PostgreSQL)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from src.database import session as db_session
from src.database.session import make_autocommit_engine
from tests.conftest import PG_ADMIN_URL, make_settings


async def _kill_other_backends(database: str) -> int:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        rows = await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            database,
        )
    finally:
        await conn.close()
    return len(rows)


async def _scenario(url: str, tmp_path: Path, *, idle_seconds: float) -> list[str]:
    """Use the pool's one connection, kill it while idle, then run three statements."""
    settings = make_settings(tmp_path, database_url=url)
    engine = make_autocommit_engine(settings, pool_size=1, max_overflow=0)
    assert engine is not None
    outcomes: list[str] = []
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        assert await _kill_other_backends(engine.url.database or "") == 1
        await asyncio.sleep(idle_seconds)
        for _ in range(3):
            try:
                async with engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
                outcomes.append("ok")
            except DBAPIError as exc:
                outcomes.append("invalidated" if exc.connection_invalidated else "error")
    finally:
        await engine.dispose()
    return outcomes


def test_a_connection_that_died_while_idle_is_replaced_at_checkout(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_session, "PING_IF_IDLE_SECONDS", 0.2)
    outcomes = asyncio.run(_scenario(postgres_url, tmp_path, idle_seconds=0.3))
    assert outcomes == ["ok", "ok", "ok"]


def test_a_connection_that_died_just_after_use_fails_once_then_the_pool_reconnects(
    postgres_url: str, tmp_path: Path
) -> None:
    # Returned moments ago: no ping; its statement fails and invalidates the pool.
    outcomes = asyncio.run(_scenario(postgres_url, tmp_path, idle_seconds=0))
    assert outcomes == ["invalidated", "ok", "ok"]
