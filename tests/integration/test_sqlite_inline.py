"""SQLite statements run on the event loop; a locked database is waited for without blocking it."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from src.config import Settings
from src.database import sqlite_inline
from src.database.migrate import upgrade
from src.database.session import make_engine


def _database_file(settings: Settings) -> str:
    return settings.database_url.split("///", 1)[1]


@pytest.fixture
def probe_db(settings: Settings) -> Settings:
    """The product's schema plus a bare table to write to."""
    upgrade(settings.database_url)
    with sqlite3.connect(_database_file(settings)) as conn:
        conn.execute("CREATE TABLE probe (name TEXT PRIMARY KEY, value TEXT)")
    return settings


def _hold_write_lock(path: str, seconds: float, held: threading.Event) -> threading.Thread:
    """Another process's writer, as ``enhancer import`` would be: holds the lock ``seconds``."""

    def hold() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")  # raises if the test setup is wrong: see held
        conn.execute("INSERT INTO probe (name, value) VALUES ('holder', '1')")
        held.set()
        time.sleep(seconds)
        conn.execute("COMMIT")
        conn.close()

    thread = threading.Thread(target=hold)
    thread.start()
    return thread


async def _write_while_locked(settings: Settings, hold_seconds: float) -> tuple[float, int]:
    """Write while another connection holds the lock; count event-loop ticks meanwhile."""
    engine = make_engine(settings)
    held = threading.Event()
    holder = _hold_write_lock(_database_file(settings), hold_seconds, held)
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    tick_task = asyncio.create_task(ticker())
    try:
        for _ in range(1000):
            if held.is_set():
                break
            await asyncio.sleep(0.005)
        assert held.is_set(), "the lock holder never took the lock"
        started = time.monotonic()
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO probe (name, value) VALUES ('waiter', '2')"))
        waited = time.monotonic() - started
    finally:
        stop.set()
        await tick_task
        holder.join()
        await engine.dispose()
    return waited, ticks


def test_a_write_waits_for_another_writer_while_the_loop_keeps_running(probe_db: Settings) -> None:
    settings = probe_db
    waited, ticks = asyncio.run(_write_while_locked(settings, hold_seconds=0.5))
    assert waited >= 0.3
    # A blocking wait would have frozen the ticker for the whole half second.
    assert ticks >= 20
    with sqlite3.connect(_database_file(settings)) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM probe")}
    assert {"holder", "waiter"} <= names


def test_a_lock_held_past_the_timeout_fails_with_sqlites_error(
    probe_db: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_inline, "BUSY_TIMEOUT_SECONDS", 0.2)
    with pytest.raises(OperationalError, match="database is locked"):
        asyncio.run(_write_while_locked(probe_db, hold_seconds=1.0))


def test_two_sessions_of_one_process_write_at_once_without_deadlock(probe_db: Settings) -> None:
    """The first writer awaits while holding the lock; the second waits for it, not forever."""

    async def scenario() -> list[str]:
        engine = make_engine(probe_db)
        order: list[str] = []

        async def first() -> None:
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO probe (name, value) VALUES ('a', '1')"))
                order.append("a-wrote")
                await asyncio.sleep(0.2)
            order.append("a-committed")

        async def second() -> None:
            await asyncio.sleep(0.05)
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO probe (name, value) VALUES ('b', '1')"))
            order.append("b-committed")

        try:
            await asyncio.wait_for(asyncio.gather(first(), second()), timeout=10)
        finally:
            await engine.dispose()
        return order

    assert asyncio.run(scenario()) == ["a-wrote", "a-committed", "b-committed"]


def test_rows_read_by_the_inline_driver_match_sqlite(probe_db: Settings) -> None:

    async def scenario() -> tuple[list[tuple[str, str]], int]:
        engine = make_engine(probe_db)
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    text("INSERT INTO probe (name, value) VALUES (:n, :v)"),
                    [{"n": f"f{i}", "v": str(i)} for i in range(5)],
                )
                updated = await conn.execute(
                    text("UPDATE probe SET value = 'x' WHERE name IN ('f1', 'f2')")
                )
            async with engine.connect() as conn:
                result = await conn.execute(text("SELECT name, value FROM probe ORDER BY name"))
                return [(r[0], r[1]) for r in result], updated.rowcount
        finally:
            await engine.dispose()

    rows, updated = asyncio.run(scenario())
    assert updated == 2
    assert rows == [("f0", "0"), ("f1", "x"), ("f2", "x"), ("f3", "3"), ("f4", "4")]
