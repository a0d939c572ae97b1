"""Selective full-text queries on PostgreSQL, chosen with the column's own statistics.

A ticket's text has dozens of words, and OR-ing them all matches almost every row of a large
corpus: PostgreSQL must then read and rank each matching ``search_vector`` (measured: ~250 ms
over 100,000 tickets). ``ANALYZE`` already records how often each common lexeme occurs in the
column (``pg_stats.most_common_elems``), so the filter keeps the rarest lexemes of the query
until they could match about ``FILTER_BUDGET`` of the rows. A word that is in a large share of
all tickets says little about which ones are similar anyway. When even the rarest lexeme is that
common, the rarest two or three are AND-ed instead. A small table (up to ``MAX_RANKED_ROWS`` rows
to rank) keeps every term. A lexeme the statistics do not list is
counted as common as the least common listed one (an upper bound); a table never analysed lists
none, and the query's first terms are kept.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import String, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

FILTER_BUDGET = 0.02
# Ranking this many rows costs ~15 ms; a smaller table may match them all.
MAX_RANKED_ROWS = 2000
MAX_FILTER_TERMS = 12
MAX_AND_TERMS = 3
# A table last seen this small gets every term without asking the statistics (one query less
# per search, the common case for a KB of a few hundred articles), for this long.
SMALL_TABLE_ROWS = MAX_RANKED_ROWS // 2
TABLE_SIZE_TTL_SECONDS = 30.0

_table_rows: dict[tuple[str, str], tuple[float, float]] = {}  # (database, table) -> rows, seen


@dataclass(frozen=True, slots=True)
class PgMatch:
    """What to search with: a tsquery of lexemes, or (``stem``) of words PostgreSQL must stem."""

    text: str
    stem: bool


_LEXEME_FREQUENCIES = text(
    """
    WITH stats AS (
        SELECT most_common_elems::text::text[] AS elems, most_common_elem_freqs AS freqs
        FROM pg_stats
        WHERE schemaname = current_schema() AND tablename = :table
          AND attname = 'search_vector'
    ), common AS (
        SELECT unnest(elems) AS elem, unnest(freqs[1:array_length(elems, 1)]) AS freq
        FROM stats
    )
    SELECT l.lexeme, min(t.n) AS position,
           coalesce(max(c.freq), (SELECT freqs[array_length(elems, 1) + 1] FROM stats), 0),
           (SELECT reltuples FROM pg_class WHERE oid = to_regclass(:table))
    FROM unnest(:terms) WITH ORDINALITY AS t(term, n)
    CROSS JOIN LATERAL unnest(tsvector_to_array(to_tsvector('english', t.term))) AS l(lexeme)
    LEFT JOIN common AS c ON c.elem = l.lexeme
    GROUP BY l.lexeme
    """
).bindparams(bindparam("terms", type_=ARRAY(String)))


def _quote(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def choose_filter(lexemes: Sequence[tuple[str, int, float]], table_rows: float) -> str | None:
    """The tsquery text for ``(lexeme, position in the query, row frequency)`` triples.

    Rarest first (ties: earlier in the ticket first); a table of ``table_rows`` rows may match
    up to ``MAX_RANKED_ROWS`` of them, a larger one ``FILTER_BUDGET`` of them. Returns None when
    there is no lexeme.
    """
    ranked = sorted(lexemes, key=lambda item: (item[2], item[1]))
    if not ranked:
        return None
    budget = max(FILTER_BUDGET, MAX_RANKED_ROWS / table_rows) if table_rows > 0 else math.inf
    kept: list[str] = []
    total = 0.0
    for lexeme, _, freq in ranked:
        if len(kept) == MAX_FILTER_TERMS or (kept and total + freq > budget):
            break
        kept.append(lexeme)
        total += freq
    if total <= budget or len(ranked) == 1:
        return " | ".join(_quote(lexeme) for lexeme in kept)
    together: list[str] = []
    share = 1.0
    for lexeme, _, freq in ranked[:MAX_AND_TERMS]:
        together.append(lexeme)
        share *= freq
        if share <= budget:
            break
    return " & ".join(_quote(lexeme) for lexeme in together)


async def selective_tsquery(
    session: AsyncSession, table: str, terms: Sequence[str]
) -> PgMatch | None:
    """What to search ``table`` with for ``terms``; None when nothing is searchable.

    A table seen small within ``TABLE_SIZE_TTL_SECONDS`` is searched for every term (the
    statement stems them); otherwise the statistics choose the lexemes.
    """
    key = (str(session.get_bind().engine.url), table)
    rows_seen, seen_at = _table_rows.get(key, (-1.0, 0.0))
    if 0 <= rows_seen <= SMALL_TABLE_ROWS and time.monotonic() - seen_at < TABLE_SIZE_TTL_SECONDS:
        return PgMatch(" | ".join(_quote(term) for term in terms), stem=True)
    rows = (
        await session.execute(_LEXEME_FREQUENCIES, {"terms": list(terms), "table": table})
    ).all()
    if rows and rows[0][3] is not None:
        _table_rows[key] = (float(rows[0][3]), time.monotonic())
    table_rows = float(rows[0][3] or 0) if rows else 0.0
    chosen = choose_filter([(str(r[0]), int(r[1]), float(r[2])) for r in rows], table_rows)
    return None if chosen is None else PgMatch(chosen, stem=False)
