"""SQLite under the async engine, run on the event loop's own thread.

aiosqlite runs each connection on a thread of its own and hands every call (execute, fetch,
close, commit) across with a future. Measured here, each hand-over cost ~160 µs of CPU (thread
wake-ups and GIL hand-offs), so a statement cost ~1.2 ms through SQLAlchemy against ~0.12 ms
for the same statement on the plain ``sqlite3`` driver: on the embedded default that was a
third of a job's CPU. A local SQLite statement takes microseconds, so this driver runs it in
place, like the synchronous ``pysqlite`` dialect, under the async engine's API.

The one call that could block for long is waiting for another connection's write lock. Here
SQLite's own busy wait is off (``busy_timeout=0``): a statement that finds the database locked
yields to the event loop and tries again with back-off, so the connection holding the lock (in
this process or another) can finish. It gives up after ``BUSY_TIMEOUT_SECONDS`` with SQLite's
own "database is locked" error, as the busy timeout did.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import deque
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, TypeVar

from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL
from sqlalchemy.exc import MissingGreenlet
from sqlalchemy.pool import AsyncAdaptedQueuePool, Pool, StaticPool
from sqlalchemy.util import await_

T = TypeVar("T")

BUSY_TIMEOUT_SECONDS = 30.0
_BACKOFF_SECONDS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05)


def _pause(seconds: float) -> None:
    """Sleep without blocking the event loop when called from the async engine's greenlet."""
    try:
        await_(asyncio.sleep(seconds))
    except MissingGreenlet:
        time.sleep(seconds)


def _when_unlocked(call: Callable[[], T]) -> T:
    """Run ``call``; while the database is locked, yield and retry until the timeout."""
    deadline: float | None = None
    attempt = 0
    while True:
        try:
            return call()
        except sqlite3.OperationalError as exc:
            # Only a plain SQLITE_BUSY waits: SQLITE_BUSY_SNAPSHOT (a stale read transaction
            # trying to write) can never succeed by retrying.
            if getattr(exc, "sqlite_errorcode", None) != sqlite3.SQLITE_BUSY:
                raise
            now = time.monotonic()
            deadline = deadline or now + BUSY_TIMEOUT_SECONDS
            if now >= deadline:
                raise
            _pause(_BACKOFF_SECONDS[min(attempt, len(_BACKOFF_SECONDS) - 1)])
            attempt += 1


async def _no_wait() -> None:
    return None


def _mark_async() -> None:
    """Pass through the event loop's greenlet once (a few µs; nothing is scheduled).

    The async engine refuses a statement whose execution never awaited anything ("AwaitRequired"),
    its guard against a synchronous driver.
    """
    try:
        await_(_no_wait())
    except MissingGreenlet:
        pass


class _Cursor:
    """A ``sqlite3`` cursor that holds a statement's rows once it has run.

    The async engine expects a driver's cursor to have read every row by the time ``execute``
    returns (as its adapters over asyncio drivers do), and closes results through
    ``_async_soft_close``.
    """

    __slots__ = ("_cursor", "_rows")

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor
        self._rows: deque[Any] = deque()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    def execute(self, sql: str, parameters: Any = ()) -> _Cursor:
        _mark_async()
        _when_unlocked(lambda: self._cursor.execute(sql, parameters))
        self._rows = deque(self._cursor.fetchall() if self._cursor.description else ())
        return self

    def executemany(self, sql: str, seq_of_parameters: Any) -> _Cursor:
        _mark_async()
        rows = list(seq_of_parameters)
        _when_unlocked(lambda: self._cursor.executemany(sql, rows))
        self._rows = deque()
        return self

    def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[Any]:
        count = self.arraysize if size is None else size
        return [self._rows.popleft() for _ in range(min(count, len(self._rows)))]

    def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    def close(self) -> None:
        self._rows.clear()
        self._cursor.close()

    async def _async_soft_close(self) -> None:
        return None


class _Connection(sqlite3.Connection):
    def cursor(self, *args: Any, **kwargs: Any) -> Any:
        return _Cursor(super().cursor(*args, **kwargs))

    def commit(self) -> None:
        _mark_async()
        _when_unlocked(super().commit)

    def rollback(self) -> None:
        _mark_async()
        super().rollback()


def _connect(*args: Any, **kwargs: Any) -> _Connection:
    kwargs["factory"] = _Connection
    kwargs["check_same_thread"] = False
    connection: _Connection = sqlite3.connect(*args, **kwargs)
    connection.execute("PRAGMA busy_timeout=0")
    return connection


def _dbapi() -> Any:
    """``sqlite3`` with ``connect`` replaced (the module is shared, so it is never patched)."""
    module = SimpleNamespace(**{name: getattr(sqlite3, name) for name in dir(sqlite3)})
    module.connect = _connect
    return module


class InlineSQLiteDialect(SQLiteDialect_pysqlite):
    """``pysqlite`` offered to the async engine; see the module docstring."""

    driver = "inline"
    is_async = True
    supports_statement_cache = True
    has_terminate = False

    @classmethod
    def import_dbapi(cls) -> Any:
        """``sqlite3`` whose connections wait for locks on the event loop."""
        return _dbapi()

    @classmethod
    def get_pool_class(cls, url: URL) -> type[Pool]:
        """The asyncio-aware queue pool (its waits must not block the loop)."""
        return AsyncAdaptedQueuePool if cls._is_url_file_db(url) else StaticPool
