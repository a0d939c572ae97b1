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

Each process caches a table's statistics for ``STATS_TTL_SECONDS`` and the lexemes of every word
it has stemmed, so the choice usually costs no round trip: reading the statistics before each
search was two of a job's round trips (``docs/decisions/0009-aiohttp-connection-pool-and-gc.md``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import String, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY

from src.database.session import Executor, database_key

FILTER_BUDGET = 0.02
# Ranking this many rows costs ~15 ms; a smaller table may match them all.
MAX_RANKED_ROWS = 2000
MAX_FILTER_TERMS = 12
MAX_AND_TERMS = 3
# A table this small gets every term (the statement stems them): the common case for a KB of a
# few hundred articles.
SMALL_TABLE_ROWS = MAX_RANKED_ROWS // 2
# The statistics change only when the table is analysed; each process re-reads them this often.
STATS_TTL_SECONDS = 30.0
# Words seen before are not sent to PostgreSQL to be stemmed again; the cache starts over when
# it holds this many.
MAX_CACHED_TERMS = 100_000


@dataclass(frozen=True, slots=True)
class TableStats:
    """What ``ANALYZE`` recorded about a table's ``search_vector``, as read at ``seen``."""

    rows: float  # pg_class.reltuples: -1 when never analysed
    frequencies: dict[str, float]  # most common lexemes -> share of rows containing them
    floor: float  # share assumed for a lexeme not listed (the least common listed one's)
    seen: float


_table_stats: dict[tuple[str, str], TableStats] = {}  # (database, table) -> statistics
_stems: dict[str, tuple[str, ...]] = {}  # search term -> its lexemes (none for a stopword)


@dataclass(frozen=True, slots=True)
class PgMatch:
    """What to search with: a tsquery of lexemes, or (``stem``) of words PostgreSQL must stem.

    ``fallback``: lexemes to search instead if ``text`` finds nothing (``choose_fallback``).
    """

    text: str
    stem: bool
    fallback: str | None = None


_TABLE_STATISTICS = text(
    """
    SELECT c.reltuples, s.elems, s.freqs
    FROM (SELECT to_regclass(:table) AS oid) AS r
    LEFT JOIN pg_class AS c ON c.oid = r.oid
    LEFT JOIN LATERAL (
        SELECT most_common_elems::text::text[] AS elems, most_common_elem_freqs AS freqs
        FROM pg_stats
        WHERE schemaname = current_schema() AND tablename = :table
          AND attname = 'search_vector'
    ) AS s ON true
    """
)

_STEM_TERMS = text(
    "SELECT t.term, tsvector_to_array(to_tsvector('english', t.term)) "
    "FROM unnest(:terms) AS t(term)"
).bindparams(bindparam("terms", type_=ARRAY(String)))


def _quote(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def choose_terms(
    lexemes: Sequence[tuple[str, int, float]], table_rows: float
) -> tuple[list[str], str] | None:
    """Which of ``(lexeme, position in the query, row frequency)`` to search, OR-ed or AND-ed.

    Rarest first (ties: earlier in the ticket first); a table of ``table_rows`` rows may match
    up to ``MAX_RANKED_ROWS`` of them, a larger one ``FILTER_BUDGET`` of them. Returns the
    chosen lexemes and ``"or"`` or ``"and"``; None when there is no lexeme. Shared by both
    databases (``sqlite_terms`` reads the frequencies from the FTS5 index).
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
        return kept, "or"
    together: list[str] = []
    share = 1.0
    for lexeme, _, freq in ranked[:MAX_AND_TERMS]:
        together.append(lexeme)
        share *= freq
        if share <= budget:
            break
    return together, "and"


def choose_filter(lexemes: Sequence[tuple[str, int, float]], table_rows: float) -> str | None:
    """The tsquery text for the lexemes ``choose_terms`` keeps; None when there is none."""
    chosen = choose_terms(lexemes, table_rows)
    return None if chosen is None else _tsquery(*chosen)


def choose_fallback(
    lexemes: Sequence[tuple[str, int, float]], table_rows: float, listed: Collection[str]
) -> str | None:
    """What to search instead when ``choose_filter``'s query finds nothing; None: no such case.

    A lexeme the statistics do not list (``listed``) got the floor frequency, an upper bound
    that a small vocabulary makes high: AND-ed, it usually narrows the search to the few right
    rows, but it may be in no row at all. Then the AND of listed lexemes only is searched or,
    when none is listed, the rarest words OR-ed.
    """
    chosen = choose_terms(lexemes, table_rows)
    if chosen is None or chosen[1] == "or" or all(lexeme in listed for lexeme in chosen[0]):
        return None
    known = choose_terms([item for item in lexemes if item[0] in listed], table_rows)
    if known is None:
        ranked = sorted(lexemes, key=lambda item: (item[2], item[1]))
        known = [lexeme for lexeme, _, _ in ranked[:MAX_AND_TERMS]], "or"
    return _tsquery(*known)


def _tsquery(lexemes: Sequence[str], joiner: str) -> str:
    return (" | " if joiner == "or" else " & ").join(_quote(lexeme) for lexeme in lexemes)


async def selective_tsquery(session: Executor, table: str, terms: Sequence[str]) -> PgMatch | None:
    """What to search ``table`` with for ``terms``; None when nothing is searchable.

    A small table is searched for every term (the statement stems them); otherwise the
    statistics choose the lexemes. Both the statistics (``STATS_TTL_SECONDS``) and the stems of
    words seen before are cached, so a search usually costs no query besides itself.
    """
    stats = await table_statistics(session, table)
    if 0 <= stats.rows <= SMALL_TABLE_ROWS:
        return PgMatch(" | ".join(_quote(term) for term in terms), stem=True)
    stems = await _stemmed(session, terms)
    lexemes: dict[str, tuple[str, int, float]] = {}
    for position, term in enumerate(terms, 1):
        for lexeme in stems[term]:
            if lexeme not in lexemes:
                freq = stats.frequencies.get(lexeme, stats.floor)
                lexemes[lexeme] = (lexeme, position, freq)
    found, rows = list(lexemes.values()), max(stats.rows, 0.0)
    chosen = choose_filter(found, rows)
    if chosen is None:
        return None
    return PgMatch(chosen, stem=False, fallback=choose_fallback(found, rows, stats.frequencies))


async def table_statistics(session: Executor, table: str) -> TableStats:
    """``table``'s search statistics, read at most every ``STATS_TTL_SECONDS`` per process."""
    key = (database_key(session), table)
    cached = _table_stats.get(key)
    now = time.monotonic()
    if cached is not None and now - cached.seen < STATS_TTL_SECONDS:
        return cached
    row = (await session.execute(_TABLE_STATISTICS, {"table": table})).one()
    elems: list[str] = list(row[1] or [])
    freqs: list[float] = list(row[2] or [])
    # most_common_elem_freqs holds one share per element, then the minimum, maximum and the
    # share of rows with no element.
    floor = float(freqs[len(elems)]) if len(freqs) > len(elems) else 0.0
    stats = TableStats(
        rows=float(row[0]) if row[0] is not None else -1.0,
        frequencies={elem: float(freq) for elem, freq in zip(elems, freqs, strict=False)},
        floor=floor,
        seen=now,
    )
    _table_stats[key] = stats
    return stats


async def _stemmed(session: Executor, terms: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Each term's lexemes under the ``english`` configuration; unseen terms cost one query."""
    # A number is its own lexeme (the parser's ``uint``, no stemming): ticket numbers, error
    # codes and address parts, new in almost every ticket, need no query.
    missing = [term for term in terms if term not in _stems and not _is_number(term)]
    if missing:
        rows = (await session.execute(_STEM_TERMS, {"terms": missing})).all()
        if len(_stems) + len(rows) > MAX_CACHED_TERMS:
            _stems.clear()
        for term, lexemes in rows:
            _stems[str(term)] = tuple(lexemes or ())
    return {term: (term,) if _is_number(term) else _stems.get(term, ()) for term in terms}


def _is_number(term: str) -> bool:
    return term.isascii() and term.isdigit()
