"""Creating jobs in batches: many webhooks, one ``INSERT ... ON CONFLICT DO NOTHING``, one commit.

The webhook's durable commit is the expensive part of intake; ``create_jobs`` lets concurrent
webhooks share it (see ``src.api.intake``). Deduplication is the unique ``dedupe_key``: a ticket
that already has a live job gets that job back instead of a new one.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from src.database.models import EnhancementHistory, utcnow
from src.database.repositories.history import dedupe_key

H = EnhancementHistory


@dataclass(frozen=True, slots=True)
class NewJob:
    """A job to create for a ticket; ``correlation_id`` is used unless already taken."""

    tenant_id: str
    ticket_id: str
    correlation_id: str


@dataclass(frozen=True, slots=True)
class JobRef:
    """The job that now stands for a ticket; ``created`` is False for a duplicate delivery."""

    job_id: str
    correlation_id: str
    status: str
    created: bool


# PostgreSQL: the whole batch as one statement over arrays, sent by the driver itself. Through
# SQLAlchemy, the statement machinery cost more CPU per webhook than PostgreSQL's work, and
# outside a transaction the INSERT commits on its own: one round trip, no BEGIN/COMMIT.
_PG_INSERT = """
INSERT INTO enhancement_history
    (job_id, correlation_id, tenant_id, ticket_id, dedupe_key, status, attempts, created_at,
     enqueued_at)
SELECT j, c, t, k, d, 'pending', 0, $6, $7
FROM unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::varchar[], $5::varchar[])
    AS r(j, c, t, k, d)
ON CONFLICT DO NOTHING
RETURNING job_id
"""


async def _insert_pg(
    session: AsyncSession, rows: list[dict[str, Any]], now: datetime, enqueued_at: datetime | None
) -> set[str]:
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None, "checked-out connection without a driver connection"
    columns = [
        [row[name] for row in rows]
        for name in ("job_id", "correlation_id", "tenant_id", "ticket_id", "dedupe_key")
    ]
    try:
        records = await driver.fetch(_PG_INSERT, *columns, now, enqueued_at)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        # The API answers any SQLAlchemy error with 503 database_unavailable.
        raise DBAPIError(_PG_INSERT, None, exc) from exc
    return {record[0] for record in records}


@functools.cache
def _insert_statement(dialect: str) -> Any:
    """One cached statement, run with many parameter sets (``insertmanyvalues``).

    Compiling a multi-row ``VALUES`` for each batch size cost the webhook more CPU than the
    insert itself.
    """
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = H.metadata.tables[H.__tablename__]
    return insert(table).on_conflict_do_nothing().returning(table.c.job_id)


async def create_jobs(
    session: AsyncSession, jobs: Sequence[NewJob], *, enqueued: bool = False
) -> list[JobRef]:
    """Create pending jobs (or find the tickets' live jobs), in the order given.

    ``enqueued`` stamps the new rows' ``enqueued_at``: the caller hands them to the dispatcher
    itself once committed (``src.api.intake``), so they are not in the outbox query.
    """
    dialect = session.get_bind().dialect.name
    results: dict[int, JobRef] = {}
    todo = list(enumerate(jobs))
    for attempt in range(3):
        if not todo:
            break
        now = utcnow()
        enqueued_at = now if enqueued else None
        rows: list[dict[str, Any]] = [
            {
                "job_id": str(uuid.uuid4()),
                "correlation_id": job.correlation_id if attempt == 0 else str(uuid.uuid4()),
                "tenant_id": job.tenant_id,
                "ticket_id": job.ticket_id,
                "dedupe_key": dedupe_key(job.tenant_id, job.ticket_id),
                "status": "pending",
                "attempts": 0,
                "created_at": now,
                "enqueued_at": enqueued_at,
            }
            for _, job in todo
        ]
        if dialect == "postgresql":
            inserted = await _insert_pg(session, rows, now, enqueued_at)
        else:
            inserted = set((await session.execute(_insert_statement(dialect), rows)).scalars())
        for (index, _), row in zip(todo, rows, strict=True):
            if row["job_id"] in inserted:
                results[index] = JobRef(row["job_id"], row["correlation_id"], "pending", True)
        keys = {dedupe_key(j.tenant_id, j.ticket_id) for i, j in todo if i not in results}
        if keys:
            found = await session.execute(
                select(H.dedupe_key, H.job_id, H.correlation_id, H.status).where(
                    H.dedupe_key.in_(keys)
                )
            )
            live = {r.dedupe_key: r for r in found}
            for index, job in todo:
                match = live.get(dedupe_key(job.tenant_id, job.ticket_id))
                if index not in results and match is not None:
                    results[index] = JobRef(match.job_id, match.correlation_id, match.status, False)
        # Whatever is left neither inserted nor found: its correlation ID was taken; retry.
        todo = [(i, j) for i, j in todo if i not in results]
    if todo:
        raise RuntimeError("could not create enhancement jobs")  # pragma: no cover
    return [results[i] for i in range(len(jobs))]
