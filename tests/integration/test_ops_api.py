"""Metrics after real jobs, re-queue through the admin API, the runtime LLM switch."""

from __future__ import annotations

from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from src.config import Settings
from src.services.llm_synthesis import RUNTIME_DISABLED_REASON
from tests.fakes.llm import RunningLLM
from tests.fakes.sdp import RunningSDP
from tests.integration.harness import RunningAPI, add_tenant, running_api
from tests.integration.test_health import LLM_KEY, with_values


def samples(client: httpx.Client) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of ``GET /metrics`` keyed by name and labels."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(all_samples: dict[Any, float], name: str, **labels: str) -> float:
    return all_samples.get((name, frozenset(labels.items())), 0.0)


def _admin(api: RunningAPI) -> dict[str, str]:
    assert api.settings.admin_api_token is not None
    return {"Authorization": f"Bearer {api.settings.admin_api_token.get_secret_value()}"}


def _llm_settings(settings: Settings, llm: RunningLLM) -> Settings:
    return with_values(
        settings,
        openrouter_api_key=LLM_KEY,
        openrouter_base_url=llm.base_url,
        runtime_flag_cache_seconds=0.0,
    )


def test_metrics_count_a_real_job(settings: Settings, sdp: RunningSDP, llm: RunningLLM) -> None:
    add_tenant(settings, sdp)
    ticket = sdp.state.add_request("VPN down", description="Gateway 10.0.0.1 rejects logins")
    with running_api(_llm_settings(settings, llm)) as api:
        before = samples(api.client)
        accepted = api.webhook(ticket)
        assert accepted.status_code == 202
        api.wait_for(accepted.json()["correlation_id"])
        after = samples(api.client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    route = "/webhooks/servicedesk/{tenant_id}"
    assert delta("http_requests_total", method="POST", route=route, status="202") == 1
    assert delta("http_request_duration_seconds_count", method="POST", route=route) == 1
    assert delta("enhancement_jobs_total", outcome="completed") == 1
    assert delta("enhancement_job_duration_seconds_count", outcome="completed") == 1
    for node in ("similar_tickets", "kb_search", "ip_lookup", "synthesize", "write_back"):
        assert delta("enhancement_node_duration_seconds_count", node=node) == 1, node
    assert delta("llm_requests_total", outcome="success") == 1
    assert delta("llm_tokens_total", kind="prompt") == llm.state.prompt_tokens
    assert delta("llm_tokens_total", kind="completion") == llm.state.completion_tokens
    assert delta("llm_cost_usd_total") > 0
    assert delta("outbound_requests_total", service="ServiceDesk", status="200") == 1
    assert delta("outbound_requests_total", service="ServiceDesk", status="201") == 1
    assert value(after, "circuit_breaker_state", breaker="openrouter") == 0
    assert value(after, "enhancement_queue_depth", status="pending") == 0
    assert ("enhancement_queue_oldest_pending_age_seconds", frozenset()) in after
    ids = [k for k in after if k[0] == "http_requests_total" and ("route", ticket) in k[1]]
    assert not ids  # IDs never become label values


def test_metrics_count_fallbacks_node_failures_and_sdp_retries(
    settings: Settings, sdp: RunningSDP, llm: RunningLLM
) -> None:
    add_tenant(settings, sdp)
    llm.state.mode, llm.state.status_code = "error", 503
    sdp.state.fail_next("POST", 503)
    ticket = sdp.state.add_request("Printer jam", description="Floor 3 printer")
    with running_api(_llm_settings(settings, llm)) as api:
        before = samples(api.client)
        api.wait_for(api.webhook(ticket).json()["correlation_id"])
        after = samples(api.client)
    fallback = ("enhancement_fallback_total", frozenset({("reason", "api_error")}))
    assert after[fallback] - before.get(fallback, 0) == 1
    errors = ("llm_requests_total", frozenset({("outcome", "error")}))
    assert after[errors] - before.get(errors, 0) == 1
    retried = ("outbound_retries_total", frozenset({("service", "ServiceDesk"), ("status", "503")}))
    assert after[retried] - before.get(retried, 0) == 1


def test_requeue_of_a_completed_job_adopts_its_note_instead_of_posting_twice(
    settings: Settings, sdp: RunningSDP
) -> None:
    add_tenant(settings, sdp)
    ticket = sdp.state.add_request("Disk full", description="Server 10.2.2.2 disk full")
    with running_api(settings) as api:
        cid = api.webhook(ticket).json()["correlation_id"]
        first = api.wait_for(cid)
        assert first["status"] == "completed"
        assert api.client.post(f"/api/v1/enhancements/{cid}/requeue").status_code == 401
        response = api.client.post(f"/api/v1/enhancements/{cid}/requeue", headers=_admin(api))
        assert response.status_code == 200, response.text
        assert response.json() == {
            "job_id": first["job_id"],
            "correlation_id": cid,
            "status": "pending",
            "previous_status": "completed",
        }
        again = api.wait_for(cid)
        missing = api.client.post(
            "/api/v1/enhancements/nope-nope-nope/requeue", headers=_admin(api)
        )
    assert again["status"] == "completed"
    assert again["attempts"] == 2
    assert again["sdp_note_id"] == first["sdp_note_id"]
    assert len(sdp.state.notes_for(ticket)) == 1
    assert missing.status_code == 404


def test_requeue_refuses_a_second_live_job_for_the_ticket(
    settings: Settings, sdp: RunningSDP
) -> None:
    add_tenant(settings, sdp)
    ticket = sdp.state.add_request("Wifi", description="No wifi on floor 2")
    with running_api(settings) as api:
        sdp.state.fail_next("GET", 403)
        old = api.webhook(ticket).json()["correlation_id"]
        assert api.wait_for(old)["status"] == "failed"
        new = api.webhook(ticket).json()["correlation_id"]
        assert api.wait_for(new)["status"] == "completed"
        refused = api.client.post(f"/api/v1/enhancements/{old}/requeue", headers=_admin(api))
    assert refused.status_code == 409
    assert f"ticket already has a live job {new} (completed)" in refused.json()["detail"]


def test_llm_switch_via_admin_api_reaches_the_next_job(
    settings: Settings, sdp: RunningSDP, llm: RunningLLM
) -> None:
    add_tenant(settings, sdp)
    one = sdp.state.add_request("A", description="first")
    two = sdp.state.add_request("B", description="second")
    with running_api(_llm_settings(settings, llm)) as api:
        assert api.client.put("/api/v1/llm", json={"disabled": True}).status_code == 401
        off = api.client.put("/api/v1/llm", json={"disabled": True}, headers=_admin(api))
        assert off.status_code == 200
        assert off.json()["enabled"] is False and off.json()["runtime_disabled"] is True
        first = api.wait_for(api.webhook(one).json()["correlation_id"])
        assert not llm.state.chat_calls
        on = api.client.put("/api/v1/llm", json={"disabled": False}, headers=_admin(api))
        assert on.json()["enabled"] is True
        second = api.wait_for(api.webhook(two).json()["correlation_id"])
        status = api.client.get("/api/v1/llm", headers=_admin(api)).json()
    assert first["used_fallback"] is True
    assert first["fallback_reason"] == RUNTIME_DISABLED_REASON
    assert second["used_fallback"] is False and len(llm.state.chat_calls) == 1
    assert status["runtime_disabled"] is False
