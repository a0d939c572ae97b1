from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from src.database.models import KBArticle
from src.database.repositories.corpus import (
    make_snippet,
    query_terms,
    search_kb,
    search_similar_tickets,
    upsert_ticket,
)
from src.database.session import SessionFactory, make_engine, make_session_factory, transaction
from tests.conftest import make_settings

TICKETS = [
    ("1", "VPN connection drops every hour", "AnyConnect VPN disconnects users.", "Raised DPD"),
    ("2", "VPN client cannot connect", "The VPN client shows an error at login.", None),
    ("3", "Printer on floor 3 jams", "Paper jam in the office printer.", "Replaced fuser"),
    ("4", "Outlook crashes on start", "Outlook closes right after the splash screen.", None),
]


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    # Resolved in a sync fixture: the migrating fixtures run their own event loop.
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
async def factory(db_url: str, tmp_path: Path) -> AsyncIterator[SessionFactory]:
    engine = make_engine(make_settings(tmp_path, database_url=db_url))
    factory = make_session_factory(engine)
    async with transaction(factory) as session:
        for ticket_id, subject, description, resolution in TICKETS:
            await upsert_ticket(
                session,
                tenant_id="acme",
                ticket_id=ticket_id,
                subject=subject,
                description=description,
                resolution=resolution,
                status="Resolved" if resolution else "Open",
                display_id=f"#{ticket_id}",
            )
        await upsert_ticket(
            session,
            tenant_id="globex",
            ticket_id="1",
            subject="VPN drops all the time",
            description="VPN drops",
            resolution="Rebooted",
        )
    yield factory
    await engine.dispose()


async def similar(factory: SessionFactory, text: str, **kwargs: object) -> list[str]:
    options: dict[str, object] = {"exclude_ticket_id": None, "limit": 10} | kwargs
    async with factory() as session:
        found = await search_similar_tickets(
            session,
            tenant_id="acme",
            text=text,
            url_for=lambda ticket_id: f"https://sdp.example/{ticket_id}",
            **options,  # type: ignore[arg-type]
        )
    return [t.ticket_id for t in found]


async def test_similar_tickets_match_by_topic_and_prefer_resolved_ones(
    factory: SessionFactory,
) -> None:
    assert await similar(factory, "Our VPN connection keeps dropping") == ["1", "2"]
    assert await similar(factory, "the VPN") == ["1", "2"]


async def test_similar_tickets_carry_fields_and_link(factory: SessionFactory) -> None:
    async with factory() as session:
        [hit] = await search_similar_tickets(
            session,
            tenant_id="acme",
            text="printer jam",
            exclude_ticket_id=None,
            limit=5,
            url_for=lambda ticket_id: f"https://sdp.example/{ticket_id}",
        )
    assert (hit.ticket_id, hit.display_id, hit.status) == ("3", "#3", "Resolved")
    assert (hit.resolution, hit.url) == ("Replaced fuser", "https://sdp.example/3")


async def test_similar_tickets_never_cross_tenants(factory: SessionFactory) -> None:
    async with factory() as session:
        found = await search_similar_tickets(
            session,
            tenant_id="globex",
            text="VPN drops",
            exclude_ticket_id=None,
            limit=10,
            url_for=lambda _id: None,
        )
    assert [(t.subject, t.url) for t in found] == [("VPN drops all the time", None)]


async def test_similar_tickets_exclude_the_ticket_itself_and_honour_limit(
    factory: SessionFactory,
) -> None:
    assert await similar(factory, "VPN connection drops", exclude_ticket_id="1") == ["2"]
    assert await similar(factory, "VPN connection drops", limit=1) == ["1"]
    assert await similar(factory, "VPN connection drops", limit=0) == []


@pytest.mark.parametrize(
    "text",
    ['foo" OR 1=1 --', "'", "*", '"', "vpn*", "-vpn", "NEAR(vpn", "title:vpn", "a AND OR NOT"],
)
async def test_query_syntax_in_user_text_is_harmless(factory: SessionFactory, text: str) -> None:
    found = await similar(factory, text)
    assert found == (["1", "2"] if "vpn" in text else [])


@pytest.mark.parametrize("text", ["", "   ", "the and of it", "a b c"])
async def test_text_without_search_terms_finds_nothing(factory: SessionFactory, text: str) -> None:
    assert await similar(factory, text) == []


async def test_upsert_updates_text_and_keeps_fields_not_given(factory: SessionFactory) -> None:
    async with transaction(factory) as session:
        await upsert_ticket(
            session,
            tenant_id="acme",
            ticket_id="3",
            subject="Scanner offline",
            description="The scanner does not answer.",
        )
    assert await similar(factory, "printer") == []
    async with factory() as session:
        [hit] = await search_similar_tickets(
            session,
            tenant_id="acme",
            text="scanner",
            exclude_ticket_id=None,
            limit=5,
            url_for=lambda _id: None,
        )
    assert (hit.ticket_id, hit.subject, hit.resolution, hit.status) == (
        "3",
        "Scanner offline",
        "Replaced fuser",
        "Resolved",
    )


async def test_kb_search_covers_own_and_shared_articles_only(factory: SessionFactory) -> None:
    body = "Background. " * 40 + "To fix VPN drops raise the dead peer detection timeout. " * 5
    async with transaction(factory) as session:
        session.add_all(
            [
                KBArticle(
                    tenant_id="acme", title="VPN troubleshooting", body=body, url="https://kb/1"
                ),
                KBArticle(tenant_id=None, title="Shared VPN guide", body="Reconnect the VPN."),
                KBArticle(tenant_id="globex", title="Globex VPN secrets", body="VPN"),
                KBArticle(tenant_id=None, title="Printer guide", body="Printers."),
            ]
        )
    async with factory() as session:
        found = await search_kb(session, tenant_id="acme", text="vpn drops", limit=10)
    assert [a.title for a in found] == ["VPN troubleshooting", "Shared VPN guide"]
    assert found[0].url == "https://kb/1"
    assert found[0].snippet.startswith("…") and "VPN drops" in found[0].snippet
    assert len(found[0].snippet) <= 202
    assert found[1].snippet == "Reconnect the VPN."


def test_query_terms_are_capped_deduplicated_and_alphanumeric() -> None:
    assert query_terms('Foo" OR foo_bar -- x') == ["foo", "bar"]
    assert len(query_terms(" ".join(f"word{i}" for i in range(100)))) == 30


def test_snippet_is_plain_text() -> None:
    assert make_snippet("<p>Restart&nbsp;the <b>spooler</b></p>", ["spooler"]) == (
        "Restart the spooler"
    )
