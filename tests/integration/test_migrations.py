"""Migrations go up, down to base and up again on both databases."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import Inspector
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


def _inspected(url: str, read: Callable[[Inspector], set[str]]) -> set[str]:
    async def run() -> set[str]:
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: read(inspect(c)))
        await engine.dispose()
        return names

    return asyncio.run(run())


def _tables(url: str) -> set[str]:
    return _inspected(url, lambda found: set(found.get_table_names()))


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_upgrade_downgrade_upgrade(dialect: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("sqlite_url" if dialect == "sqlite" else "postgres_url")
    assert CORE_TABLES <= _tables(url)
    downgrade(url, "base")
    assert _tables(url) <= {"alembic_version"}
    upgrade(url)
    assert CORE_TABLES <= _tables(url)


def _columns(url: str, table: str) -> set[str]:
    return _inspected(url, lambda found: {col["name"] for col in found.get_columns(table)})


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_0005_adds_and_drops_retry_base(dialect: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("sqlite_url" if dialect == "sqlite" else "postgres_url")
    assert "retry_base" in _columns(url, "enhancement_history")
    downgrade(url, "0004")
    assert "retry_base" not in _columns(url, "enhancement_history")
    upgrade(url)
    assert "retry_base" in _columns(url, "enhancement_history")
