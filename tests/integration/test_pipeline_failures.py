"""Failure paths of the whole pipeline: slow and broken context, SDP errors, crash recovery."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from src.config import Settings
from src.context import IPLookupResult, KBArticle
from src.database.models import EnhancementHistory
from src.database.session import make_connections, make_engine, make_session_factory, transaction
from src.nodes.sources import ContextRequest, ContextSources, database_sources
from tests.conftest import make_settings
from tests.fakes.sdp import RunningSDP
from tests.integration.harness import add_tenant, running_api, seed_samples

SUBJECT = "VPN keeps disconnecting"
DESCRIPTION = "VPN gateway 10.20.30.40 drops users every few minutes"


def test_slow_and_failing_context_nodes_do_not_discard_the_third(
    settings: Settings, sdp: RunningSDP
) -> None:
    settings = make_settings(
        settings.var_dir.parent, database_url=settings.database_url, context_timeout_seconds=0.5
    )
    add_tenant(settings, sdp)
    seed_samples(settings)
    engine = make_engine(settings)
    real = database_sources(settings, make_connections(engine, autocommit=False))

    async def slow_kb(_: ContextRequest) -> tuple[KBArticle, ...]:
        await asyncio.sleep(5)
        return ()

    async def broken_ip_lookup(_: ContextRequest) -> IPLookupResult:
        raise RuntimeError("inventory service exploded")

    sources = ContextSources(
        similar_tickets=real.similar_tickets, kb_search=slow_kb, ip_lookup=broken_ip_lookup
    )
    ticket = sdp.state.add_request(SUBJECT, description=DESCRIPTION)
    with running_api(settings, sources=sources) as api:
        row = api.wait_for(api.webhook(ticket).json()["correlation_id"])
    asyncio.run(engine.dispose())

    assert row["status"] == "completed"
    assert row["context_nodes_success"] == 1
    assert row["context_nodes_failed"] == 2
    details = row["node_details"]
    assert details["kb_search"]["status"] == "timeout"
    assert details["kb_search"]["error"] == "Timeout after 0.5s"
    assert details["ip_lookup"]["status"] == "failed"
    assert "inventory service exploded" in details["ip_lookup"]["error"]
    assert 500 <= row["context_time_ms"]  # the budget was spent waiting for the slow node
    assert row["context_time_ms"] < 1500  # ...and the slow node was cut at the budget
    html = sdp.state.notes_for(ticket)[0]["description"]
    assert "9001" in html  # similar tickets survived
    assert "Timeout after 0.5s" in html and "inventory service exploded" in html


def test_sdp_401_fails_fast_with_runbook_message(settings: Settings, sdp: RunningSDP) -> None:
    add_tenant(settings, sdp)
    ticket = sdp.state.add_request(SUBJECT, description=DESCRIPTION)
    sdp.state.fail_next("GET", 401)
    with running_api(settings) as api:
        row = api.wait_for(api.webhook(ticket).json()["correlation_id"])
    assert row["status"] == "failed"
    assert row["error_message"].startswith("ServiceDesk API returned 401 Unauthorized")
    assert len(sdp.state.calls_to("GET", f"/requests/{ticket}")) == 1
    assert sdp.state.notes_for(ticket) == []


def test_sdp_404_on_write_back_fails_fast(settings: Settings, sdp: RunningSDP) -> None:
    add_tenant(settings, sdp)
    ticket = sdp.state.add_request(SUBJECT, description=DESCRIPTION)
    sdp.state.fail_next("POST", 404)
    with running_api(settings) as api:
        row = api.wait_for(api.webhook(ticket).json()["correlation_id"])
    assert row["status"] == "failed"
    assert row["error_message"].startswith("ServiceDesk API returned 404 Not Found")
    assert len(sdp.state.calls_to("POST")) == 1
    assert row["enhancement"]  # the note that could not be written is kept for the operator


def test_sdp_429_with_retry_after_then_success(settings: Settings, sdp: RunningSDP) -> None:
    add_tenant(settings, sdp)
    ticket = sdp.state.add_request(SUBJECT, description=DESCRIPTION)
    sdp.state.fail_next("POST", 429, retry_after=0)
    with running_api(settings) as api:
        row = api.wait_for(api.webhook(ticket).json()["correlation_id"])
    assert row["status"] == "completed"
    assert len(sdp.state.calls_to("POST")) == 2
    assert len(sdp.state.notes_for(ticket)) == 1


def test_sdp_503_then_success(settings: Settings, sdp: RunningSDP) -> None:
    add_tenant(settings, sdp)
    ticket = sdp.state.add_request(SUBJECT, description=DESCRIPTION)
    sdp.state.fail_next("GET", 503)
    with running_api(settings) as api:
        row = api.wait_for(api.webhook(ticket).json()["correlation_id"])
    assert row["status"] == "completed"
    assert len(sdp.state.calls_to("GET", f"/requests/{ticket}")) == 2


def test_sdp_outage_retries_the_job_later_then_fails_and_a_requeue_gets_every_retry_again(
    settings: Settings, sdp: RunningSDP
) -> None:
    settings = make_settings(
        settings.var_dir.parent,
        database_url=settings.database_url,
        sdp_max_retries=1,
        enhancement_max_retries=1,
        enhancement_retry_delay=0.2,
    )
    add_tenant(settings, sdp)
    ticket = sdp.state.add_request(SUBJECT, description=DESCRIPTION)
    sdp.state.fail_next("GET", 503, times=10)
    with running_api(settings) as api:
        cid = api.webhook(ticket).json()["correlation_id"]
        row = api.wait_for(cid)
        assert row["status"] == "failed"
        assert row["attempts"] == 2  # first run + one job-level retry
        assert row["error_message"] == "ServiceDesk API returned 503 Service Unavailable"
        assert len(sdp.state.calls_to("GET", f"/requests/{ticket}")) == 4  # 2 attempts x 2 calls

        requeued = api.client.post(
            f"/api/v1/enhancements/{cid}/requeue", headers=api.admin_headers()
        )
        assert requeued.status_code == 200, requeued.text
        again = api.wait_for(cid)
    # The re-queued job had its whole retry budget again: a run and one retry, as at first.
    assert again["status"] == "failed"
    assert again["attempts"] == 4
    assert len(sdp.state.calls_to("GET", f"/requests/{ticket}")) == 8


def test_rerun_after_worker_died_post_write_back_posts_no_second_note(
    settings: Settings, sdp: RunningSDP
) -> None:
    add_tenant(settings, sdp)
    ticket = sdp.state.add_request(SUBJECT, description=DESCRIPTION)
    with running_api(settings) as api:
        cid = api.webhook(ticket).json()["correlation_id"]
        first = api.wait_for(cid)
    assert first["status"] == "completed"

    async def forget_outcome() -> None:
        # What the row looks like if the worker died after posting but before recording.
        engine = make_engine(settings)
        async with transaction(make_session_factory(engine)) as session:
            await session.execute(
                update(EnhancementHistory)
                .where(EnhancementHistory.correlation_id == cid)
                .values(
                    status="processing",
                    sdp_note_id=None,
                    completed_at=None,
                    lease_token="dead-worker",
                    lease_expires_at=datetime.now(UTC) - timedelta(seconds=1),
                )
            )
        await engine.dispose()

    asyncio.run(forget_outcome())
    with running_api(settings) as api:
        again = api.wait_for(cid, statuses=("completed",))
        api.wait_for(cid)
    assert again["attempts"] == 2
    assert again["sdp_note_id"] == first["sdp_note_id"]
    assert len(sdp.state.notes_for(ticket)) == 1
    assert len(sdp.state.calls_to("POST")) == 1
