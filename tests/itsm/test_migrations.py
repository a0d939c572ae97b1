"""0003 (itsm_tickets) and 0004 (SLA columns) go up, down and up on both databases."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from src.database.migrate import downgrade, upgrade

SLA_COLUMNS = {"acknowledged_at", "resolved_at", "time_to_acknowledge", "time_to_resolve"}


def _columns(url: str) -> set[str] | None:
    async def read() -> set[str] | None:
        engine = create_async_engine(url)
        async with engine.connect() as conn:

            def columns(sync_conn: object) -> set[str] | None:
                inspector = inspect(sync_conn)
                if "itsm_tickets" not in inspector.get_table_names():
                    return None
                return {c["name"] for c in inspector.get_columns("itsm_tickets")}

            names = await conn.run_sync(columns)
        await engine.dispose()
        return names

    return asyncio.run(read())


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_itsm_migrations_upgrade_downgrade_upgrade(
    dialect: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("sqlite_url" if dialect == "sqlite" else "postgres_url")
    head = _columns(url)
    assert head is not None and SLA_COLUMNS <= head and {"attempts", "last_error"} <= head

    downgrade(url, "0003")
    without_sla = _columns(url)
    assert without_sla is not None and not (SLA_COLUMNS & without_sla)
    assert head - SLA_COLUMNS == without_sla

    downgrade(url, "0002")
    assert _columns(url) is None

    upgrade(url)
    assert _columns(url) == head
