"""Alembic environment: the database URL comes from ``src.config`` (``DATABASE_URL``)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection, pool
from sqlalchemy.ext.asyncio import async_engine_from_config

from src.config import load_settings
from src.database.models import Base

FTS_PREFIXES = ("tickets_fts", "kb_articles_fts")


def _include_name(name: str | None, type_: str, _parent: object) -> bool:
    if type_ == "table" and name and name.startswith(FTS_PREFIXES):
        return False
    return not (type_ == "column" and name == "search_vector")


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        include_name=_include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = async_engine_from_config(
        {"sqlalchemy.url": url}, prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


def main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.attributes.get("database_url") or load_settings().database_url
    asyncio.run(_run_async(url))


main()
