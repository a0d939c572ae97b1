"""Engines and sessions for both databases, configured from settings.

SQLite (embedded default) runs in WAL mode, its statements on the event loop's thread
(``sqlite_inline``), so the API and the in-process worker pool write concurrently. PostgreSQL
uses a pre-pinged, recycled pool sized by ``DB_POOL_SIZE`` / ``DB_MAX_OVERFLOW`` /
``DB_POOL_RECYCLE``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import registry
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from src.config import Settings

SessionFactory = async_sessionmaker[AsyncSession]
# Where repository functions run their statements: an ORM session or a bare connection.
Executor = AsyncSession | AsyncConnection
# ``async with connections() as conn``: one unit of work without an ORM session.
Connections = Callable[[], AbstractAsyncContextManager[AsyncConnection]]

# Autocommit pools ping a connection at checkout only after it sat idle this long.
PING_IF_IDLE_SECONDS = 5.0


# Statements run on the event loop's thread (``sqlite_inline``); ``sqlite+aiosqlite://`` URLs,
# the documented form, are served by it.
registry.register("sqlite.inline", "src.database.sqlite_inline", "InlineSQLiteDialect")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """WAL, so readers never wait for the writer; lock waits are ``sqlite_inline``'s."""
    cursor = dbapi_conn.cursor()
    # The journal mode is kept in the file; setting it again cost ~0.5 ms per connection.
    cursor.execute("PRAGMA journal_mode")
    if str(cursor.fetchone()[0]).lower() != "wal":
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def ensure_sqlite_folder(database_url: str) -> None:
    """Create the folder of a SQLite database file (``./var/`` on the embedded default)."""
    url = make_url(database_url)
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def make_engine(settings: Settings) -> AsyncEngine:
    """Create the async engine for ``DATABASE_URL``; SQLite's folder is created if missing."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        ensure_sqlite_folder(settings.database_url)
        # Every connection is kept: an overflow connection closed on return and opened again at
        # the next burst cost a connect and its pragmas (~1 ms) each time.
        engine = create_async_engine(
            url.set(drivername="sqlite+inline"),
            pool_size=settings.db_pool_size + settings.db_max_overflow,
            max_overflow=0,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=True,
        pool_recycle=settings.db_pool_recycle,
    )


def make_autocommit_engine(
    settings: Settings, *, pool_size: int = 4, max_overflow: int | None = None
) -> AsyncEngine | None:
    """PostgreSQL only (else None): a small pool where every statement commits on its own.

    For code whose units of work are single statements (webhook intake, the dispatcher). Through
    the main pool each unit also cost a ``BEGIN`` and a ``COMMIT``, and asyncpg's pre-ping runs
    inside a transaction of its own (three round trips) unless the connection is in autocommit
    mode; measured with ``bench/intake.py``, those round trips were most of intake's database
    time. Used the same way by a worker for a job's statements. Multi-statement work must keep
    using the main engine.
    """
    url = make_url(settings.database_url)
    if url.get_backend_name() != "postgresql":
        return None
    engine = create_async_engine(
        url,
        isolation_level="AUTOCOMMIT",
        pool_size=pool_size,
        max_overflow=settings.db_max_overflow if max_overflow is None else max_overflow,
        pool_recycle=settings.db_pool_recycle,
    )
    event.listen(engine.sync_engine.pool, "checkout", _ping_if_idle)
    event.listen(engine.sync_engine.pool, "checkin", _mark_returned)
    return engine


def _mark_returned(_dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
    record.info["returned_at"] = time.monotonic()


def _ping_if_idle(dbapi_conn: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
    """Pre-ping a connection only if it sat idle for ``PING_IF_IDLE_SECONDS`` or more.

    A busy pool hands each connection out again within milliseconds; pinging every checkout
    was a round trip per statement (half of a job's database round trips). A connection that
    died in between fails its statement instead, and SQLAlchemy then invalidates the whole
    pool, so the other connections reconnect at checkout rather than fail one by one.
    """
    returned = record.info.get("returned_at")
    if returned is not None and time.monotonic() - returned < PING_IF_IDLE_SECONDS:
        return
    try:
        dbapi_conn.ping()
    except Exception as exc:
        raise DisconnectionError(f"connection failed its ping: {exc}") from exc


def make_session_factory(engine: AsyncEngine) -> SessionFactory:
    """Sessions that keep loaded attributes after commit (rows are passed around read-only)."""
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(factory: SessionFactory) -> AsyncIterator[AsyncSession]:
    """One session, one transaction: commit on success, roll back on any error."""
    async with factory() as session, session.begin():
        yield session


def make_connections(engine: AsyncEngine, *, autocommit: bool) -> Connections:
    """Bare connections for units of work made of a few Core statements (a job's own).

    Measured on PostgreSQL: a statement through an ORM session cost ~480 µs of CPU, through a
    connection ~330 µs (no session, no identity map, no ORM compile step). On an ``autocommit``
    engine (``make_autocommit_engine``) each statement commits on its own; otherwise the block is
    one transaction, committed at exit and rolled back on an error.
    """
    return engine.connect if autocommit else engine.begin


def dialect_name(db: Executor) -> str:
    """``"postgresql"`` or ``"sqlite"``, for a session or a connection."""
    if isinstance(db, AsyncConnection):
        return db.dialect.name
    return db.get_bind().dialect.name


def database_key(db: Executor) -> str:
    """The database's URL as text: a key for per-database caches."""
    engine = db.engine if isinstance(db, AsyncConnection) else db.get_bind().engine
    return str(engine.url)
