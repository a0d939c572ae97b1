"""Selective full-text queries on SQLite (embedded default), chosen with the FTS5 index's counts.

OR-ing every word of a ticket matches almost every row of a large corpus, and FTS5 then ranks
each match with bm25: measured with ``bench/search.py --database sqlite``, ~450 ms per search
over 100,000 tickets, on the event loop's thread. As on PostgreSQL (``pg_terms``), the query
keeps its rarest words until they could match about ``FILTER_BUDGET`` of the rows, or AND-s the
rarest two or three (``choose_terms``). The index knows exactly how many rows hold each stem
(``fts5vocab``), so a word no row holds is left out rather than guessed at.

Stems come from FTS5's own ``porter unicode61`` tokenizer (a scratch FTS5 table in the
connection's ``temp`` schema), so they are the index's. Each process caches a word's stem for
good and a stem's row count and the table's size for ``STATS_TTL_SECONDS``; the common words
of a corpus are cached after the first searches, so a search usually costs one statement.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy import text

from src.database.repositories.pg_terms import (
    MAX_CACHED_TERMS,
    SMALL_TABLE_ROWS,
    STATS_TTL_SECONDS,
    choose_terms,
)
from src.database.session import Executor, database_key

_TABLES = {"tickets": "tickets_fts", "kb_articles": "kb_articles_fts"}
_PROBE = "enhancer_stem_probe"

_stems: dict[str, str] = {}  # word -> its stem under porter unicode61
_counts: dict[tuple[str, str, str], tuple[int, float]] = {}  # (db, table, stem) -> rows, seen
_sizes: dict[tuple[str, str], tuple[int, float]] = {}  # (db, table) -> rows, seen


def fts_phrase(word: str) -> str:
    """``word`` as an FTS5 string (quoted, so it is never read as query syntax)."""
    return '"' + word.replace('"', '""') + '"'


async def selective_match(session: Executor, table: str, terms: Sequence[str]) -> str | None:
    """The FTS5 query to search ``table`` with for ``terms``; None when no row can match."""
    if not terms:
        return None
    database = database_key(session)
    rows = await _table_rows(session, database, table)
    if rows <= SMALL_TABLE_ROWS:
        return " OR ".join(fts_phrase(term) for term in terms)
    stems = await _stemmed(session, terms)
    counts = await _row_counts(session, database, table, sorted(set(stems.values())))
    words: dict[str, str] = {}  # stem -> the query's first word with that stem
    lexemes: list[tuple[str, int, float]] = []
    for position, term in enumerate(terms, 1):
        stem = stems[term]
        if stem in words or counts.get(stem, 0) == 0:
            continue
        words[stem] = term
        lexemes.append((stem, position, counts[stem] / rows))
    chosen = choose_terms(lexemes, float(rows))
    if chosen is None:
        return None
    kept, joiner = chosen
    return f" {joiner.upper()} ".join(fts_phrase(words[stem]) for stem in kept)


async def _table_rows(session: Executor, database: str, table: str) -> int:
    """About how many rows ``table`` has (its highest id), read every ``STATS_TTL_SECONDS``."""
    key = (database, table)
    now = time.monotonic()
    cached = _sizes.get(key)
    if cached is not None and now - cached[1] < STATS_TTL_SECONDS:
        return cached[0]
    rows = int(await session.scalar(text(f"SELECT coalesce(max(id), 0) FROM {table}")) or 0)
    _sizes[key] = (rows, now)
    return rows


async def _row_counts(
    session: Executor, database: str, table: str, stems: Sequence[str]
) -> dict[str, int]:
    """How many rows of ``table`` hold each stem; stems not seen lately cost one statement."""
    now = time.monotonic()
    found: dict[str, int] = {}
    missing: list[str] = []
    for stem in stems:
        cached = _counts.get((database, table, stem))
        if cached is not None and now - cached[1] < STATS_TTL_SECONDS:
            found[stem] = cached[0]
        else:
            missing.append(stem)
    if missing:
        vocab = f"enhancer_{table}_terms"
        await session.execute(
            text(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{vocab} "
                f"USING fts5vocab(main, {_TABLES[table]}, row)"
            )
        )
        marks = ", ".join(f":s{i}" for i in range(len(missing)))
        result = await session.execute(
            text(f"SELECT term, doc FROM temp.{vocab} WHERE term IN ({marks})"),
            {f"s{i}": stem for i, stem in enumerate(missing)},
        )
        counted = {str(term): int(doc) for term, doc in result}
        if len(_counts) + len(missing) > MAX_CACHED_TERMS:
            _counts.clear()
        for stem in missing:
            found[stem] = counted.get(stem, 0)
            _counts[(database, table, stem)] = (found[stem], now)
    return found


async def _stemmed(session: Executor, terms: Sequence[str]) -> dict[str, str]:
    """Each term's stem, from FTS5's tokenizer; words not seen before cost three statements."""
    missing = [term for term in terms if term not in _stems]
    if missing:
        for statement in (
            f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{_PROBE} "
            "USING fts5(word, tokenize='porter unicode61')",
            f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{_PROBE}_tokens "
            f"USING fts5vocab(temp, {_PROBE}, instance)",
        ):
            await session.execute(text(statement))
        await session.execute(
            text(f"INSERT INTO temp.{_PROBE} (rowid, word) VALUES (:id, :word)"),
            [{"id": i, "word": term} for i, term in enumerate(missing, 1)],
        )
        result = await session.execute(
            text(f"SELECT doc, term FROM temp.{_PROBE}_tokens ORDER BY doc, offset")
        )
        tokens: dict[int, str] = {}
        for doc, token in result:
            tokens.setdefault(int(doc), str(token))
        await session.execute(text(f"DELETE FROM temp.{_PROBE}"))
        if len(_stems) + len(missing) > MAX_CACHED_TERMS:
            _stems.clear()
        for i, term in enumerate(missing, 1):
            _stems[term] = tokens.get(i, term)
    return {term: _stems.get(term, term) for term in terms}
