"""The whole path: webhook → embedded worker → graph → note at the fake SDP → history."""

from __future__ import annotations

import json

from src.config import Settings
from tests.conftest import make_settings
from tests.fakes.llm import RunningLLM
from tests.fakes.sdp import RunningSDP
from tests.integration.harness import add_tenant, running_api, seed_samples

VPN_SUBJECT = "VPN keeps disconnecting"
VPN_DESCRIPTION = "<p>Since this morning the VPN via 10.20.30.40 drops every few minutes.</p>"


def _with_llm(settings: Settings, llm: RunningLLM, **extra: object) -> Settings:
    return make_settings(
        settings.var_dir.parent,
        database_url=settings.database_url,
        openrouter_api_key="sk-test-0123456789",
        openrouter_base_url=llm.base_url,
        **extra,
    )


def test_webhook_to_llm_note_records_completed_history(
    settings: Settings, sdp: RunningSDP, llm: RunningLLM
) -> None:
    settings = _with_llm(settings, llm)
    add_tenant(settings, sdp)
    seed_samples(settings)
    ticket = sdp.state.add_request(VPN_SUBJECT, description=VPN_DESCRIPTION)

    with running_api(settings) as api:
        accepted = api.webhook(ticket)
        assert accepted.status_code == 202, accepted.text
        body = accepted.json()
        assert body["status"] == "pending"
        assert accepted.headers["x-correlation-id"] == body["correlation_id"]
        row = api.wait_for(body["correlation_id"])

    assert row["status"] == "completed", row
    assert row["used_fallback"] is False
    assert row["llm_model"] == llm.state.model
    assert row["prompt_tokens"] == llm.state.prompt_tokens
    assert row["completion_tokens"] == llm.state.completion_tokens
    assert row["cost"] is not None
    assert row["context_nodes_success"] == 3 and row["context_nodes_failed"] == 0
    for column in (
        "ticket_search_time_ms",
        "kb_search_time_ms",
        "ip_lookup_time_ms",
        "synthesis_time_ms",
        "writeback_time_ms",
        "total_time_ms",
    ):
        assert isinstance(row[column], int), column

    posts = sdp.state.calls_to("POST", f"/requests/{ticket}/notes")
    assert len(posts) == 1
    call = posts[0]
    assert call.headers["authtoken"] == sdp.api_key
    assert call.headers["accept"] == "application/vnd.manageengine.sdp.v3+json"
    assert call.headers["x-correlation-id"] == body["correlation_id"]
    note = json.loads(call.form["input_data"])["note"]
    assert note["show_to_requester"] is False
    html = note["description"]
    assert body["correlation_id"] in html
    assert "vpn-gw-01" in html  # asset from the inventory
    assert "kb.example.com/articles/vpn-disconnects" in html  # KB link from context
    assert "9001" in html  # similar past ticket
    assert row["sdp_note_id"] == sdp.state.notes_for(ticket)[0]["id"]
    assert llm.state.chat_calls[0].headers["authorization"] == "Bearer sk-test-0123456789"


def test_without_llm_key_writes_fallback_note(settings: Settings, sdp: RunningSDP) -> None:
    add_tenant(settings, sdp)
    seed_samples(settings)
    ticket = sdp.state.add_request(VPN_SUBJECT, description=VPN_DESCRIPTION)
    with running_api(settings) as api:
        cid = api.webhook(ticket).json()["correlation_id"]
        row = api.wait_for(cid)
    assert row["status"] == "completed"
    assert row["used_fallback"] is True
    assert row["fallback_reason"] == "OPENROUTER_API_KEY not set"
    html = sdp.state.notes_for(ticket)[0]["description"]
    assert "fallback" in html.lower() and cid in html


def test_llm_outage_still_completes_with_fallback_and_reason(
    settings: Settings, sdp: RunningSDP, llm: RunningLLM
) -> None:
    settings = _with_llm(settings, llm)
    llm.state.mode = "error"
    llm.state.status_code = 503
    add_tenant(settings, sdp)
    ticket = sdp.state.add_request(VPN_SUBJECT, description=VPN_DESCRIPTION)
    with running_api(settings) as api:
        row = api.wait_for(api.webhook(ticket).json()["correlation_id"])
    assert row["status"] == "completed"
    assert row["used_fallback"] is True
    assert row["fallback_reason"] == "OpenRouter API error: 503 Service Unavailable"
    assert len(sdp.state.notes_for(ticket)) == 1


def test_duplicate_delivery_returns_existing_job_and_posts_once(
    settings: Settings, sdp: RunningSDP
) -> None:
    add_tenant(settings, sdp)
    ticket = sdp.state.add_request(VPN_SUBJECT, description=VPN_DESCRIPTION)
    with running_api(settings) as api:
        first = api.webhook(ticket)
        second = api.webhook(ticket)
        assert first.status_code == 202
        assert second.status_code == 200
        assert second.json()["job_id"] == first.json()["job_id"]
        api.wait_for(first.json()["correlation_id"])
        third = api.webhook(ticket)
        assert third.status_code == 200 and third.json()["status"] == "completed"
        listed = api.admin_get("/api/v1/enhancements", ticket_id=ticket).json()
    assert len(listed) == 1
    assert len(sdp.state.notes_for(ticket)) == 1
