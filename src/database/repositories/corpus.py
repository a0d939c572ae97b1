"""Full-text search over ``tickets`` / ``kb_articles`` and writes to the ticket corpus.

Search runs on SQLite FTS5 (``tickets_fts`` / ``kb_articles_fts``, ranked by ``bm25``) or on
PostgreSQL's generated ``search_vector`` (filtered on the query's selective lexemes, see
``pg_terms``, and ranked by ``ts_rank``). User text is never handed to
either query language as is: it is reduced to at most ``MAX_QUERY_TERMS`` alphanumeric terms
that are OR-ed together, each one quoted for FTS5, so quotes, ``*``, ``-`` or ``OR 1=1`` in a
ticket are just words.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    bindparam,
    case,
    cast,
    column,
    func,
    literal_column,
    or_,
    select,
    table,
)
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from src.context import KBArticle as KBArticleHit
from src.context import SimilarTicket
from src.database.models import KBArticle, Ticket, utcnow
from src.database.repositories.pg_terms import PgMatch, selective_tsquery
from src.database.repositories.sqlite_terms import selective_match
from src.database.session import Executor, dialect_name

MAX_QUERY_TERMS = 30
SNIPPET_CHARS = 200
# A ticket that says how it was fixed is worth more to a technician than a slightly closer one.
RESOLVED_BOOST = 1.5
_UPSERT_BATCH = 500
_TERM = re.compile(r"[^\W_]+")
_STOPWORDS = frozenset(
    "a about after again all also am an and any are as at be been before being but by can "
    "could did do does doing for from had has have having he her here hers him his how i if "
    "in into is it its just me more most my no not now of off on once only or other our out "
    "over please so some such than that the their them then there these they this those "
    "through to too under until up very was we were what when where which while who why will "
    "with would you your hi hello thanks thank regards dear".split()
)
# Columns, not entities: loading ORM objects cost more than the search itself.
_TICKET_HIT = (
    Ticket.ticket_id,
    Ticket.subject,
    Ticket.resolution,
    Ticket.status,
    Ticket.display_id,
)
_AnySelect = Select[*tuple[Any, ...]]
_OPTIONAL_TICKET_FIELDS = ("display_id", "status", "category", "resolution", "resolved_at")


@dataclass(frozen=True, slots=True)
class TicketRecord:
    """One ticket to write with ``upsert_tickets``; datetimes must be timezone-aware."""

    ticket_id: str
    subject: str
    description: str = ""
    display_id: str | None = None
    status: str | None = None
    category: str | None = None
    resolution: str | None = None
    created_at: datetime | None = None
    resolved_at: datetime | None = None


def query_terms(text: str) -> list[str]:
    """Reduce free text to the distinct lowercase search terms used by both dialects."""
    terms: list[str] = []
    for term in _TERM.findall(text.lower()):
        if len(term) < 2 or term in _STOPWORDS or term in terms:
            continue
        terms.append(term)
        if len(terms) == MAX_QUERY_TERMS:
            break
    return terms


async def search_similar_tickets(
    session: Executor,
    *,
    tenant_id: str,
    text: str,
    exclude_ticket_id: str | None,
    limit: int,
    url_for: Callable[[str], str | None],
) -> list[SimilarTicket]:
    """Return the tenant's tickets most like ``text``, best first.

    Tickets with a resolution get their relevance multiplied by ``RESOLVED_BOOST``.

    Args:
        session: Open session.
        tenant_id: Only this tenant's tickets are searched.
        text: Free text (subject and description of the ticket being enhanced).
        exclude_ticket_id: The ticket itself, so it never shows up as its own match.
        limit: Maximum number of results.
        url_for: Builds the link to a ticket from its ``ticket_id``.

    Returns:
        Up to ``limit`` tickets; empty when ``text`` has no searchable words.
    """
    terms = query_terms(text)
    if not terms or limit <= 0:
        return []
    params: dict[str, Any] = {"tenant_id": tenant_id, "limit": limit}
    if exclude_ticket_id is not None:
        params["exclude"] = exclude_ticket_id
    rows = await _ranked_rows(session, "tickets", terms, params)
    return [
        SimilarTicket(
            ticket_id=row.ticket_id,
            subject=row.subject,
            resolution=row.resolution,
            status=row.status,
            url=url_for(row.ticket_id),
            display_id=row.display_id,
        )
        for row in rows
    ]


async def search_kb(
    session: Executor, *, tenant_id: str, text: str, limit: int
) -> list[KBArticleHit]:
    """Return the KB articles (the tenant's own and shared ones) that best match ``text``.

    Args:
        session: Open session.
        tenant_id: Articles of this tenant and those with no tenant are searched.
        text: Free text to match.
        limit: Maximum number of results.

    Returns:
        Up to ``limit`` articles, best first, each with a plain-text excerpt of its body.
    """
    terms = query_terms(text)
    if not terms or limit <= 0:
        return []
    rows = await _ranked_rows(
        session, "kb_articles", terms, {"tenant_id": tenant_id, "limit": limit}
    )
    return [KBArticleHit(r.title, r.url, make_snippet(r.body, terms)) for r in rows]


async def _ranked_rows(
    session: Executor, table_name: str, terms: Sequence[str], params: dict[str, Any]
) -> Sequence[Any]:
    """The best rows of ``table_name`` for ``terms`` (``params``: the statement's others)."""
    found = await _match_text(session, table_name, terms)
    if found is None:
        return []
    dialect = dialect_name(session)
    exclude = "exclude" in params
    stmt = _search_statement(dialect, table_name, exclude=exclude, stem=found.stem)
    rows = (await session.execute(stmt, {**params, "q": found.text})).all()
    if not rows and found.fallback is not None:
        stmt = _search_statement(dialect, table_name, exclude=exclude)
        rows = (await session.execute(stmt, {**params, "q": found.fallback})).all()
    return rows


async def _match_text(session: Executor, table_name: str, terms: Sequence[str]) -> PgMatch | None:
    """What to match (``PgMatch.stem``: PostgreSQL must stem it); None: nothing is searchable.

    SQLite: an FTS5 query of the selective words (``sqlite_terms``), None when no row holds
    any. PostgreSQL: the query's selective lexemes (``pg_terms``), None when none survive
    stemming and stopwords, with a fallback when they may find nothing.
    """
    if dialect_name(session) == "postgresql":
        return await selective_tsquery(session, table_name, terms)
    fts_query = await selective_match(session, table_name, terms)
    return None if fts_query is None else PgMatch(fts_query, stem=False)


@functools.cache
def _search_statement(
    dialect: str, table_name: str, *, exclude: bool, stem: bool = False
) -> _AnySelect:
    """The ranked search of ``table_name``, built once per shape.

    Building it cost more CPU than running it. ``stem`` (PostgreSQL): ``q`` holds words for
    ``to_tsquery('english', ...)`` rather than lexemes. Parameters: ``q`` (from ``_match_text``),
    ``tenant_id``, ``limit`` and, for tickets with ``exclude``, ``exclude``. Resolved tickets
    get ``RESOLVED_BOOST``.
    """
    stmt: _AnySelect
    boost: ColumnElement[float] | None = None
    if table_name == "tickets":
        stmt = select(*_TICKET_HIT).where(Ticket.tenant_id == bindparam("tenant_id"))
        if exclude:
            stmt = stmt.where(Ticket.ticket_id != bindparam("exclude"))
        weights = (2.0, 1.0, 0.5)
        resolved = func.trim(func.coalesce(Ticket.resolution, "")) != ""
        boost = case((resolved, RESOLVED_BOOST), else_=1.0)
    else:
        stmt = select(KBArticle.title, KBArticle.url, KBArticle.body).where(
            or_(KBArticle.tenant_id == bindparam("tenant_id"), KBArticle.tenant_id.is_(None))
        )
        weights = (2.0, 1.0, 1.0)
    key: ColumnElement[int] = literal_column(f"{table_name}.id")
    match = bindparam("q", type_=String())
    if dialect == "postgresql":
        vector: ColumnElement[Any] = literal_column(f"{table_name}.search_vector")
        tsquery: ColumnElement[Any] = (
            func.to_tsquery(literal_column("'english'::regconfig"), match)
            if stem
            else cast(match, TSQUERY)
        )
        rank: ColumnElement[float] = func.ts_rank(vector, tsquery)
        if boost is not None:
            rank = rank * boost
        stmt = stmt.where(vector.bool_op("@@")(tsquery)).order_by(rank.desc(), key.desc())
    else:
        fts_name = f"{table_name}_fts"
        fts = table(fts_name, column("rowid"))
        bm25: ColumnElement[float] = func.bm25(literal_column(fts_name), *weights)
        if boost is not None:
            bm25 = bm25 * boost  # bm25 is negative, lower is better: the boost pushes further
        stmt = (
            stmt.join(fts, fts.c.rowid == key)
            .where(literal_column(fts_name).op("MATCH")(match))
            .order_by(bm25.asc(), key.desc())
        )
    return stmt.limit(bindparam("limit"))


def make_snippet(body: str, terms: Sequence[str], *, width: int = SNIPPET_CHARS) -> str:
    """A plain-text excerpt of about ``width`` characters around the first matching term."""
    plain = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())
    if len(plain) <= width:
        return plain
    # Stems match inflected forms well enough to choose where the excerpt starts.
    stems = sorted({re.escape(t[: max(3, len(t) - 3)]) for t in terms}, key=len, reverse=True)
    found = re.search(r"\b(?:" + "|".join(stems) + ")", plain, re.IGNORECASE) if stems else None
    start = 0
    if found is not None and found.start() > width // 4:
        space = plain.find(" ", found.start() - width // 4)
        start = space + 1 if 0 <= space < found.start() else found.start()
    end = start + width
    if end < len(plain):
        cut = plain.rfind(" ", start, end)
        end = cut if cut > start else end
    excerpt = plain[start:end].strip()
    return ("…" if start > 0 else "") + excerpt + ("…" if end < len(plain) else "")


async def upsert_ticket(
    session: Executor,
    *,
    tenant_id: str,
    ticket_id: str,
    subject: str,
    description: str,
    display_id: str | None = None,
    status: str | None = None,
    category: str | None = None,
    resolution: str | None = None,
    created_at: datetime | None = None,
    resolved_at: datetime | None = None,
) -> None:
    """Insert a ticket or update the stored one with the same ``(tenant_id, ticket_id)``.

    See ``upsert_tickets`` for which fields an update overwrites.
    """
    record = TicketRecord(
        ticket_id=ticket_id,
        subject=subject,
        description=description,
        display_id=display_id,
        status=status,
        category=category,
        resolution=resolution,
        created_at=created_at,
        resolved_at=resolved_at,
    )
    await upsert_tickets(session, tenant_id=tenant_id, records=[record])


@functools.cache
def _upsert_statement(dialect: str, *, dated: bool) -> Any:
    """The ticket upsert, built once per dialect.

    Building it (and its cache key) cost more CPU than running it, and every job runs it.
    """
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(Ticket.metadata.tables["tickets"])
    new = stmt.excluded
    updates: dict[str, Any] = {
        "subject": new.subject,
        "description": new.description,
        "updated_at": new.updated_at,
    }
    for name in _OPTIONAL_TICKET_FIELDS:
        updates[name] = func.coalesce(new[name], getattr(Ticket, name))
    if dated:
        updates["created_at"] = new.created_at
    return stmt.on_conflict_do_update(index_elements=["tenant_id", "ticket_id"], set_=updates)


async def upsert_tickets(
    session: Executor, *, tenant_id: str, records: Sequence[TicketRecord]
) -> None:
    """Insert or update many tickets of one tenant with ``INSERT ... ON CONFLICT DO UPDATE``.

    On update, ``subject`` and ``description`` are always replaced; the optional fields
    (``display_id``, ``status``, ``category``, ``resolution``, ``resolved_at``,
    ``created_at``) only when given, so a later partial update never erases a resolution.
    ``ticket_id`` values must be distinct within one call (PostgreSQL refuses to update a
    row twice in one statement).
    """
    dialect = dialect_name(session)
    now = utcnow()
    for dated in (True, False):
        rows = [
            {
                "tenant_id": tenant_id,
                "ticket_id": r.ticket_id,
                "subject": r.subject,
                "description": r.description,
                "display_id": r.display_id,
                "status": r.status,
                "category": r.category,
                "resolution": r.resolution,
                "created_at": r.created_at or now,
                "updated_at": now,
                "resolved_at": r.resolved_at,
            }
            for r in records
            if (r.created_at is not None) is dated
        ]
        if not rows:
            continue
        stmt = _upsert_statement(dialect, dated=dated)
        if len(rows) == 1:  # a plain execute costs less than the executemany machinery
            await session.execute(stmt, rows[0])
            continue
        for offset in range(0, len(rows), _UPSERT_BATCH):
            await session.execute(stmt, rows[offset : offset + _UPSERT_BATCH])
