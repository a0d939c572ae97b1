"""Shared fixtures: migrated SQLite and PostgreSQL databases.

PostgreSQL tests use the real server on 127.0.0.1:5432 (``TEST_POSTGRES_URL`` to override). They
skip when it is unreachable, except with ``CI=true``, where a missing server fails the run.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import pytest

from src.config import Settings, load_settings
from src.database.migrate import upgrade

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Settings isolated in ``tmp_path`` with quick retries; ``overrides`` win."""
    values: dict[str, object] = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path}/enhancer.db",
        "var_dir": tmp_path / "var",
        "admin_api_token": "test-admin-token-0123456789",
        "secret_key": "test-secret-key-0123456789abcdef",
        "openrouter_api_key": None,
        "sdp_retry_base_delay": 0.01,
        "sdp_retry_max_delay": 0.05,
        "worker_poll_seconds": 0.05,
        "log_json": True,
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A migrated SQLite database in a temporary folder."""
    url = f"sqlite+aiosqlite:///{tmp_path}/enhancer.db"
    upgrade(url)
    return url


def _pg_reachable() -> bool:
    async def probe() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    return True


async def _admin_sql(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def scratch_database(prefix: str = "enhancer_t") -> Iterator[str]:
    """A fresh, migrated PostgreSQL database (its ``postgresql+asyncpg`` URL), dropped after."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin_sql(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    url = f"{base}/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        asyncio.run(_admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database, dropped afterwards."""
    if not _pg_reachable():
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI but unreachable at {PG_ADMIN_URL}")
        pytest.skip(f"PostgreSQL unreachable at {PG_ADMIN_URL}")
    with scratch_database() as url:
        yield url
