"""Migrations go up, down to base and up again on both databases."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from src.database.migrate import downgrade, upgrade

CORE_TABLES = {
    "tenant_configs",
    "enhancement_history",
    "tickets",
    "kb_articles",
    "assets",
    "networks",
    "runtime_flags",
}


def _tables(url: str) -> set[str]:
    async def read() -> set[str]:
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        await engine.dispose()
        return names

    return asyncio.run(read())


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_upgrade_downgrade_upgrade(dialect: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("sqlite_url" if dialect == "sqlite" else "postgres_url")
    assert CORE_TABLES <= _tables(url)
    downgrade(url, "base")
    assert _tables(url) <= {"alembic_version"}
    upgrade(url)
    assert CORE_TABLES <= _tables(url)


def _columns(url: str, table: str) -> set[str]:
    async def read() -> set[str]:
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            names = await conn.run_sync(
                lambda c: {col["name"] for col in inspect(c).get_columns(table)}
            )
        await engine.dispose()
        return names

    return asyncio.run(read())


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_0005_adds_and_drops_retry_base(dialect: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("sqlite_url" if dialect == "sqlite" else "postgres_url")
    assert "retry_base" in _columns(url, "enhancement_history")
    downgrade(url, "0004")
    assert "retry_base" not in _columns(url, "enhancement_history")
    upgrade(url)
    assert "retry_base" in _columns(url, "enhancement_history")
