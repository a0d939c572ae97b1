"""SQLite search keeps the ticket's rare words on a large corpus, with stems and counts cached."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, text

from src.config import Settings
from src.database.migrate import upgrade
from src.database.repositories import pg_terms, sqlite_terms
from src.database.repositories.corpus import search_kb, upsert_ticket
from src.database.session import make_engine, make_session_factory, transaction
from tests.integration.harness import similar_ids

ROWS = 600


@pytest.fixture(autouse=True)
def _large_from_200_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    # A corpus counts as large from 200 rows, and may match 100 of them, so the test stays small.
    monkeypatch.setattr(sqlite_terms, "SMALL_TABLE_ROWS", 200)
    monkeypatch.setattr(pg_terms, "MAX_RANKED_ROWS", 100)
    monkeypatch.setattr(sqlite_terms, "_stems", {})
    monkeypatch.setattr(sqlite_terms, "_counts", {})
    monkeypatch.setattr(sqlite_terms, "_sizes", {})


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The embedded default's database, migrated (alembic runs its own event loop)."""
    upgrade(settings.database_url)
    return settings


async def _corpus(settings: Settings) -> Any:
    engine = make_engine(settings)
    factory = make_session_factory(engine)
    async with transaction(factory) as session:
        for n in range(ROWS):
            await session.execute(
                text(
                    "INSERT INTO tickets (tenant_id, ticket_id, subject, description, resolution, "
                    "status, created_at, updated_at) VALUES ('acme', :id, :subject, "
                    "'The printer in the office does not print for users.', "
                    "'Restarted the spooler', 'Resolved', '2026-01-01', '2026-01-01')"
                ),
                {"id": str(n), "subject": f"Printer problem in room r{n % 7}"},
            )
        await upsert_ticket(
            session,
            tenant_id="acme",
            ticket_id="fuser",
            subject="Printer prints smeared pages",
            description="Toner smears: the fusers overheat.",
            resolution="Replaced the fuser unit",
        )
        await session.execute(
            text(
                "INSERT INTO kb_articles (tenant_id, title, body, url, created_at) VALUES "
                "('acme', 'Replacing a fuser unit', 'Printer fuser steps', 'https://kb/f', "
                "'2026-01-01')"
            )
        )
    return engine, factory


async def test_the_rare_word_decides_the_match(settings: Settings) -> None:
    engine, factory = await _corpus(settings)
    matches: list[str] = []

    def record(_c: Any, _cur: Any, statement: str, params: Any, *_: Any) -> None:
        if "MATCH" in statement:
            matches.append(str(params))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        # "fusers" shares the stem of "fuser"; "zorbly" is in no row at all.
        found = await similar_ids(
            factory, "Printer office users: fusers error zorbly, smeared pages"
        )
        async with factory() as session:
            kb = await search_kb(session, tenant_id="acme", text="printer fuser", limit=5)
    finally:
        await engine.dispose()
    assert found == ["fuser"]
    assert [a.title for a in kb] == ["Replacing a fuser unit"]
    similar_query = next(q for q in matches if "fusers" in q)
    assert "printer" not in similar_query.lower()  # in every row: it would rank them all
    assert "zorbly" not in similar_query  # counted 0 rows: left out


async def test_the_least_common_word_is_searched_alone(settings: Settings) -> None:
    engine, factory = await _corpus(settings)
    try:
        found = await similar_ids(factory, "printer room r3 office")
    finally:
        await engine.dispose()
    # "r3" is in a seventh of the rows, the other words in all of them.
    assert found and all(int(t) % 7 == 3 for t in found)


async def test_a_word_in_no_row_finds_nothing(settings: Settings) -> None:
    engine, factory = await _corpus(settings)
    try:
        assert await similar_ids(factory, "zorbly quuxish") == []
    finally:
        await engine.dispose()


async def test_a_second_search_reuses_stems_and_counts(settings: Settings) -> None:
    engine, factory = await _corpus(settings)
    statements: list[str] = []

    def record(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    try:
        await similar_ids(factory, "printer fuser smeared")
        event.listen(engine.sync_engine, "before_cursor_execute", record)
        assert await similar_ids(factory, "printer fuser smeared") == ["fuser"]
    finally:
        await engine.dispose()
    assert len(statements) == 1, statements
