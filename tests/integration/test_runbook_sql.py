"""Every ```sql block of docs/runbooks/enhancement-failure.md runs on a migrated database.

A block whose first comment names one dialect (``(PostgreSQL)``, ``-- PostgreSQL:``,
``(SQLite)``) runs on that one; ``SQLite and PostgreSQL`` or no dialect runs on both.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from src.config import Settings
from src.database.repositories.intake import NewJob, create_jobs
from src.database.session import make_session_factory, transaction
from tests.conftest import make_settings
from tests.fakes.sdp import running_sdp
from tests.integration.harness import add_tenant

RUNBOOK = Path(__file__).resolve().parents[2] / "docs/runbooks/enhancement-failure.md"
_BLOCK = re.compile(r"```sql\n(.*?)```", re.DOTALL)


def blocks() -> list[tuple[str, str]]:
    """(dialect, sql) for every block: dialect is ``both``, ``postgresql`` or ``sqlite``."""
    found = []
    for sql in _BLOCK.findall(RUNBOOK.read_text()):
        head = sql.strip().splitlines()[0]
        if "SQLite and PostgreSQL" in head or not head.startswith("--"):
            dialect = "both"
        elif "PostgreSQL" in head:
            dialect = "postgresql"
        elif "SQLite" in head:
            dialect = "sqlite"
        else:
            dialect = "both"
        found.append((dialect, sql))
    return found


def _run_blocks(settings: Settings, dialect: str) -> int:
    with running_sdp() as sdp:
        add_tenant(settings, sdp)

    async def work() -> int:
        engine = create_async_engine(settings.database_url)
        factory = make_session_factory(engine)
        async with transaction(factory) as session:
            await create_jobs(session, [NewJob("acme", "12345", "c-1")])
        ran = 0
        try:
            for kind, sql in blocks():
                if kind not in ("both", dialect):
                    continue
                async with engine.connect() as conn:
                    await conn.execute(text(sql.replace(":", r"\:")))
                ran += 1
        finally:
            await engine.dispose()
        return ran

    return asyncio.run(work())


def test_runbook_has_sql_for_both_dialects() -> None:
    kinds = [kind for kind, _ in blocks()]
    assert {"both", "postgresql", "sqlite"} <= set(kinds)
    assert len(kinds) >= 10


def test_runbook_sql_runs_on_sqlite(sqlite_url: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_url=sqlite_url)
    assert _run_blocks(settings, "sqlite") == sum(k in ("both", "sqlite") for k, _ in blocks())


def test_runbook_sql_runs_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_url=postgres_url)
    assert _run_blocks(settings, "postgresql") == sum(
        k in ("both", "postgresql") for k, _ in blocks()
    )
