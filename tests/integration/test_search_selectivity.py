"""PostgreSQL search stays selective when the ticket's words are common in the corpus, and skips
the statistics query on a small table."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event, text

from src.database.repositories import pg_terms
from src.database.repositories.corpus import search_kb, search_similar_tickets, upsert_ticket
from src.database.repositories.pg_terms import MAX_RANKED_ROWS
from src.database.session import make_engine, make_session_factory, transaction
from tests.conftest import make_settings
from tests.integration.harness import similar_ids


async def test_rare_words_decide_the_match_after_analyze(postgres_url: str, tmp_path: Path) -> None:
    engine = make_engine(make_settings(tmp_path, database_url=postgres_url))
    factory = make_session_factory(engine)
    try:
        async with transaction(factory) as session:
            # More rows than MAX_RANKED_ROWS, every one about printers.
            await session.execute(
                text(
                    "INSERT INTO tickets (tenant_id, ticket_id, subject, description, "
                    "resolution, status, created_at, updated_at) "
                    "SELECT 'acme', n::text, 'Printer problem on floor ' || n % 7, "
                    "'The printer in the office does not print for users.', "
                    "'Restarted the spooler', 'Resolved', now(), now() "
                    "FROM generate_series(1, :rows) AS n"
                ),
                {"rows": 2 * MAX_RANKED_ROWS},
            )
            await upsert_ticket(
                session,
                tenant_id="acme",
                ticket_id="fuser",
                subject="Printer prints smeared pages",
                description="Toner smears: the fuser unit overheats.",
                resolution="Replaced the fuser unit",
            )
            await session.execute(
                text(
                    "INSERT INTO kb_articles (tenant_id, title, body, url, created_at) "
                    "VALUES ('acme', 'Replacing a fuser unit', 'Printer fuser steps', "
                    "'https://kb.example/fuser', now())"
                )
            )
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE tickets"))
            stats = await conn.scalar(
                text(
                    "SELECT most_common_elems::text FROM pg_stats "
                    "WHERE tablename = 'tickets' AND attname = 'search_vector'"
                )
            )
        assert stats is not None and "printer" in stats  # the statistics know the common word
        async with factory() as session:
            found = await search_similar_tickets(
                session,
                tenant_id="acme",
                text="Printer office users: fuser error, smeared pages",
                exclude_ticket_id=None,
                limit=5,
                url_for=lambda ticket_id: None,
            )
            kb = await search_kb(session, tenant_id="acme", text="printer fuser", limit=5)
        assert [t.ticket_id for t in found] == ["fuser"]
        assert [a.title for a in kb] == ["Replacing a fuser unit"]
    finally:
        await engine.dispose()


async def test_a_small_table_is_searched_for_every_word_without_the_statistics_query(
    postgres_url: str, tmp_path: Path
) -> None:
    engine = make_engine(make_settings(tmp_path, database_url=postgres_url))
    factory = make_session_factory(engine)
    try:
        async with transaction(factory) as session:
            for n, subject in enumerate(["VPN connections dropping", "Printer jammed", "Mail"]):
                await upsert_ticket(
                    session, tenant_id="acme", ticket_id=str(n), subject=subject, description=""
                )
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE tickets"))

        async def search() -> list[str]:
            return await similar_ids(factory, "Remote users: the VPN drops, printers fine")

        first = await search()  # asks the statistics, learns the table is small
        assert (str(engine.url), "tickets") in pg_terms._table_stats
        statements: list[str] = []

        def record(_c: object, _cur: object, statement: str, *_: object) -> None:
            statements.append(statement)

        event.listen(engine.sync_engine, "before_cursor_execute", record)
        second = await search()  # every word, stemmed by PostgreSQL: no statistics query
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    finally:
        await engine.dispose()
    assert first == second == ["0", "1"]  # 'drops' ~ 'dropping', 'printers' ~ 'printer'
    assert len(statements) == 1 and "to_tsquery" in statements[0]
    assert not any("pg_stats" in s for s in statements)


async def test_a_large_table_search_reuses_statistics_and_stems(
    postgres_url: str, tmp_path: Path
) -> None:
    engine = make_engine(make_settings(tmp_path, database_url=postgres_url))
    factory = make_session_factory(engine)
    try:
        async with transaction(factory) as session:
            await session.execute(
                text(
                    "INSERT INTO tickets (tenant_id, ticket_id, subject, description, "
                    "created_at, updated_at) "
                    "SELECT 'acme', n::text, 'Printer problem ' || n, 'Printing fails.', "
                    "now(), now() FROM generate_series(1, :rows) AS n"
                ),
                {"rows": 2 * MAX_RANKED_ROWS},
            )
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE tickets"))

        async def search(words: str) -> list[str]:
            return await similar_ids(factory, words, limit=3)

        assert await search("Printer problem 1234") == ["1234"]
        statements: list[str] = []

        def record(_c: object, _cur: object, statement: str, *_: object) -> None:
            statements.append(statement)

        event.listen(engine.sync_engine, "before_cursor_execute", record)
        # Known words, a new number: the number is its own lexeme, nothing else is asked.
        second = await search("printer problem 777")
        event.remove(engine.sync_engine, "before_cursor_execute", record)
        # A word in no row among common ones: AND-ed with them it finds nothing, so the
        # common words are searched without it (its statistics were only an upper bound).
        unknown = await search("Printer problem zzqx")
    finally:
        await engine.dispose()
    assert second == ["777"]
    assert len(statements) == 1 and "ts_rank" in statements[0]
    assert len(unknown) == 3
