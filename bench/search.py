"""Similar-ticket and KB search over 100,000 generated tickets and articles.

PostgreSQL by default; ``--database sqlite`` measures the embedded default (FTS5), whose
searches run on the event loop's thread, so their time is time the loop is not serving others.

Runs the product's own ``search_similar_tickets`` and ``search_kb`` (tsvector + GIN) with
ticket-like queries. Baseline, measured in the same run through the same session machinery: a
primary-key lookup. Target (issue 4): p95 ≤ 50 ms.

Run: ``.venv/bin/python -m bench.search [--rows 100000] [--queries 200]``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from sqlalchemy import select

from src.database.migrate import upgrade
from src.database.models import Ticket
from src.database.repositories.corpus import search_kb, search_similar_tickets
from src.database.session import make_engine, make_session_factory
from tests.conftest import make_settings, scratch_database

SYSTEMS = [
    "vpn",
    "outlook",
    "printer",
    "database",
    "laptop",
    "wifi",
    "sharepoint",
    "teams",
    "firewall",
    "dns",
    "backup",
    "citrix",
    "sap",
    "jira",
    "exchange",
    "okta",
    "badge",
    "monitor",
    "keyboard",
    "phone",
    "server",
    "kubernetes",
    "postgres",
    "storage",
]
SYMPTOMS = [
    "slow",
    "down",
    "disconnects",
    "crashes",
    "error",
    "timeout",
    "freezes",
    "denied",
    "missing",
    "expired",
    "locked",
    "offline",
    "corrupted",
    "unreachable",
    "full",
]
FIXES = [
    "restarted the service",
    "cleared the cache",
    "renewed the certificate",
    "reset the password",
    "replaced the cable",
    "increased the quota",
    "patched the host",
    "rolled back the update",
    "added an index",
    "reserved the DHCP lease",
]
WORDS = [
    "users",
    "remote",
    "office",
    "since",
    "morning",
    "every",
    "minutes",
    "after",
    "update",
    "login",
    "screen",
    "network",
    "connection",
    "site",
    "floor",
    "team",
]


def _vocabulary(size: int) -> list[str]:
    """Pseudo-words (``kolvane``, ``trasumi``...) after the IT words above, most common first."""
    rng = random.Random(3)
    syllables = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
    words = SYSTEMS + SYMPTOMS + WORDS
    seen = set(words)
    while len(words) < size:
        word = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


# Ticket text follows Zipf's law like natural language: a few words are in most tickets, most
# words in very few. The first words are the IT vocabulary, so they are the common ones.
VOCABULARY = _vocabulary(20_000)
CUM_WEIGHTS = list(itertools.accumulate(1 / (rank + 1) ** 1.07 for rank in range(len(VOCABULARY))))


def _text(rng: random.Random, n: int) -> str:
    parts = [rng.choice(SYSTEMS), rng.choice(SYMPTOMS)]
    parts += rng.choices(VOCABULARY, cum_weights=CUM_WEIGHTS, k=n)
    return " ".join(parts)


TICKET_COLUMNS = [
    "tenant_id",
    "ticket_id",
    "subject",
    "description",
    "resolution",
    "status",
    "created_at",
    "updated_at",
]
KB_COLUMNS = ["tenant_id", "title", "body", "url", "tags", "created_at"]


def _records(rows: int) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    rng = random.Random(7)
    tickets: list[tuple[object, ...]] = [
        (
            "acme",
            str(i),
            _text(rng, 4),
            _text(rng, 25),
            rng.choice(FIXES) if i % 3 else None,
            "Resolved" if i % 3 else "Open",
            _now(),
            _now(),
        )
        for i in range(rows)
    ]
    articles: list[tuple[object, ...]] = [
        (
            "acme" if i % 2 else None,
            _text(rng, 3),
            _text(rng, 60),
            f"https://kb.example.com/{i}",
            rng.choice(SYSTEMS),
            _now(),
        )
        for i in range(rows)
    ]
    return tickets, articles


async def _load(dsn: str, rows: int) -> None:
    tickets, articles = _records(rows)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table("tickets", columns=TICKET_COLUMNS, records=tickets)
        await conn.copy_records_to_table("kb_articles", columns=KB_COLUMNS, records=articles)
        await conn.execute("ANALYZE tickets; ANALYZE kb_articles")
    finally:
        await conn.close()


def _load_sqlite(path: str, rows: int) -> None:
    """The same rows through ``sqlite3``; the FTS5 triggers index them as an import would."""
    tickets, articles = _records(rows)

    def insert(table: str, columns: list[str], records: list[tuple[object, ...]]) -> None:
        marks = ", ".join("?" for _ in columns)
        conn.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
            [tuple(v.isoformat(" ") if isinstance(v, datetime) else v for v in r) for r in records],
        )

    with sqlite3.connect(path) as conn:
        insert("tickets", TICKET_COLUMNS, tickets)
        insert("kb_articles", KB_COLUMNS, articles)


def _now() -> datetime:
    return datetime.now(UTC)


async def _timed(n: int, call: Callable[[int], Awaitable[object]]) -> list[float]:
    times = []
    for i in range(n):
        started = time.perf_counter()
        await call(i)
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)


def _p95(times: list[float]) -> float:
    return times[int(len(times) * 0.95) - 1]


async def _bench(url: str, rows: int, queries: int, label: str) -> None:
    settings = make_settings(Path("/tmp"), database_url=url)
    engine = make_engine(settings)
    factory = make_session_factory(engine)
    rng = random.Random(11)
    texts = [f"{_text(rng, 3)}\n{_text(rng, 30)}" for _ in range(queries)]

    async def pk(i: int) -> object:
        async with factory() as session:
            return await session.scalar(select(Ticket).where(Ticket.id == 1 + i % rows))

    async def similar(i: int) -> object:
        async with factory() as session:
            return await search_similar_tickets(
                session,
                tenant_id="acme",
                text=texts[i],
                exclude_ticket_id=None,
                limit=5,
                url_for=lambda t: None,
            )

    async def kb(i: int) -> object:
        async with factory() as session:
            return await search_kb(session, tenant_id="acme", text=texts[i], limit=5)

    await _timed(20, similar)  # warm caches
    base = await _timed(queries, pk)
    sim = await _timed(queries, similar)
    kbt = await _timed(queries, kb)
    await engine.dispose()
    print(f"[search] {rows} tickets + {rows} KB articles on {label}, {queries} queries")
    print(
        f"[search] baseline primary-key lookup: p50 {statistics.median(base):.2f} ms, "
        f"p95 {_p95(base):.2f} ms"
    )
    for name, t in (("similar tickets", sim), ("kb search", kbt)):
        print(
            f"[search] {name}: p50 {statistics.median(t):.1f} ms, p95 {_p95(t):.1f} ms "
            f"(target ≤ 50 ms; {_p95(t) / _p95(base):.0f}x the baseline p95)"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    args = parser.parse_args()
    if args.database == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            path = f"{tmp}/search.db"
            url = f"sqlite+aiosqlite:///{path}"
            upgrade(url)
            started = time.perf_counter()
            _load_sqlite(path, args.rows)
            print(f"[search] loaded in {time.perf_counter() - started:.1f} s")
            asyncio.run(_bench(url, args.rows, args.queries, "SQLite"))
        return
    with scratch_database("enhancer_search") as url:
        started = time.perf_counter()
        asyncio.run(_load(url.replace("postgresql+asyncpg://", "postgresql://"), args.rows))
        print(f"[search] loaded in {time.perf_counter() - started:.1f} s")
        asyncio.run(_bench(url, args.rows, args.queries, "PostgreSQL"))


if __name__ == "__main__":
    main()
