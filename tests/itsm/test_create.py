"""Creating tickets on both platforms: success, retries with metadata, failures never silent."""

from __future__ import annotations

import base64

import pytest
from prometheus_client import REGISTRY

from tests.fakes.jira import ISSUE, RunningJira, adf_problems
from tests.fakes.servicenow import TABLE, RunningServiceNow
from tests.integration.harness import RunningAPI
from tests.itsm.conftest import AUTH, JIRA_PAYLOAD, SN_PAYLOAD, ApiFactory, post


def _metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_servicenow_incident_is_created_with_link_priority_and_one_attempt(
    api: RunningAPI, servicenow: RunningServiceNow
) -> None:
    before = _metric("itsm_ticket_creation_total", platform="servicenow", outcome="success")
    response = post(api, "/api/v1/tickets", {"platform": "servicenow", "payload": SN_PAYLOAD})

    assert response.status_code == 201, response.text
    ticket = response.json()
    incident = next(iter(servicenow.state.incidents.values()))
    assert ticket["key"] == incident["number"] == "INC0010001"
    assert ticket["url"] == (
        f"{servicenow.base_url}/nav_to.do?uri=incident.do?sys_id={incident['sys_id']}"
    )
    assert (ticket["status"], ticket["priority"], ticket["attempts"]) == ("created", "P1", 1)
    assert ticket["sla"]["acknowledge_target_s"] == 15 * 60
    call = servicenow.state.creates(TABLE)[0]
    assert call.headers["accept"] == "application/json"
    user_pass = base64.b64decode(call.headers["authorization"].split()[1]).decode()
    assert user_pass == "enhancer.integration:sn-password-0123"
    assert call.body == SN_PAYLOAD
    after = _metric("itsm_ticket_creation_total", platform="servicenow", outcome="success")
    assert after == before + 1


def test_jira_issue_is_created_with_an_adf_description(api: RunningAPI, jira: RunningJira) -> None:
    response = post(api, "/api/v1/tickets", {"platform": "jira", "payload": JIRA_PAYLOAD})

    assert response.status_code == 201, response.text
    ticket = response.json()
    assert (ticket["key"], ticket["priority"]) == ("OPS-1", "P2")
    assert ticket["url"] == f"{jira.base_url}/browse/OPS-1"
    fields = jira.state.creates(ISSUE)[0].body["fields"]
    assert fields["project"] == {"key": "OPS"}
    assert fields["issuetype"] == {"name": "Bug"}
    assert fields["priority"] == {"name": "High"}
    assert adf_problems(fields["description"]) == []
    assert fields["description"]["content"][0]["content"] == [
        {"type": "text", "text": "Users cannot pay."},
        {"type": "hardBreak"},
        {"type": "text", "text": "Since 09:40 UTC."},
    ]


def test_429_with_retry_after_is_honoured_then_succeeds_with_metadata(
    api: RunningAPI, servicenow: RunningServiceNow
) -> None:
    servicenow.state.fail(429, retry_after="1")

    response = post(api, "/api/v1/tickets", {"platform": "servicenow", "payload": SN_PAYLOAD})

    assert response.status_code == 201, response.text
    ticket = response.json()
    assert ticket["attempts"] == 2
    assert ticket["retry_delay_s"] == pytest.approx(1.0)
    assert "429 Too Many Requests: Rate limit exceeded" in ticket["last_error"]
    assert len(servicenow.state.creates(TABLE)) == 2


@pytest.mark.parametrize("platform", ["servicenow", "jira"])
def test_503_three_times_fails_with_attempts_reported_and_recorded(
    start_api: ApiFactory, servicenow: RunningServiceNow, jira: RunningJira, platform: str
) -> None:
    api = start_api(itsm_max_retries=2)
    fake = servicenow.state if platform == "servicenow" else jira.state
    fake.fail(503, 503, 503)
    payload = SN_PAYLOAD if platform == "servicenow" else JIRA_PAYLOAD
    before = _metric("itsm_ticket_creation_total", platform=platform, outcome="failure")
    retries = _metric("itsm_ticket_retry_attempts_total", platform=platform)

    response = post(api, "/api/v1/tickets", {"platform": platform, "payload": payload})

    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "upstream_unavailable"
    assert "503 Service Unavailable" in body["detail"]
    assert "after 3 attempts" in body["detail"]
    assert response.headers["X-ITSM-Attempts"] == "3"
    stored = api.client.get(
        f"/api/v1/tickets/{response.headers['X-ITSM-Ticket-Id']}", headers=AUTH
    ).json()
    assert (stored["status"], stored["attempts"]) == ("failed", 3)
    assert stored["retry_delay_s"] > 0
    assert "503" in stored["last_error"]
    assert _metric("itsm_ticket_creation_total", platform=platform, outcome="failure") == before + 1
    assert _metric("itsm_ticket_retry_attempts_total", platform=platform) == retries + 2


@pytest.mark.parametrize("status", [400, 404])
@pytest.mark.parametrize("platform", ["servicenow", "jira"])
def test_400_and_404_fail_fast_without_retry(
    api: RunningAPI,
    servicenow: RunningServiceNow,
    jira: RunningJira,
    platform: str,
    status: int,
) -> None:
    fake, path = (servicenow.state, TABLE) if platform == "servicenow" else (jira.state, ISSUE)
    fake.fail(status)
    payload = SN_PAYLOAD if platform == "servicenow" else JIRA_PAYLOAD

    response = post(api, "/api/v1/tickets", {"platform": platform, "payload": payload})

    assert response.status_code == 502
    assert response.json()["code"] == "upstream_rejected"
    assert f"returned {status}" in response.json()["detail"]
    assert response.headers["X-ITSM-Attempts"] == "1"
    assert len(fake.creates(path)) == 1


@pytest.mark.parametrize("platform", ["servicenow", "jira"])
def test_401_wrong_credentials_fail_fast_with_the_platforms_message(
    start_api: ApiFactory,
    servicenow: RunningServiceNow,
    jira: RunningJira,
    platform: str,
) -> None:
    api = start_api(servicenow_password="wrong-password", jira_api_token="wrong-token")
    payload = SN_PAYLOAD if platform == "servicenow" else JIRA_PAYLOAD

    response = post(api, "/api/v1/tickets", {"platform": platform, "payload": payload})

    assert response.status_code == 502
    detail = response.json()["detail"]
    assert "401 Unauthorized" in detail
    expected = "User Not Authenticated" if platform == "servicenow" else "must be authenticated"
    assert expected in detail
    fake, path = (servicenow.state, TABLE) if platform == "servicenow" else (jira.state, ISSUE)
    assert len(fake.creates(path)) == 1


def test_jira_field_rejection_is_returned_as_field_errors(
    api: RunningAPI, jira: RunningJira
) -> None:
    payload = {**JIRA_PAYLOAD, "project": "NOPE"}

    response = post(api, "/api/v1/tickets", {"platform": "jira", "payload": payload})

    assert response.status_code == 502
    assert response.json()["errors"] == [
        {
            "field": "payload.project",
            "code": "rejected_by_jira",
            "message": "Specify a valid project ID or key",
        }
    ]


def test_hibernating_servicenow_html_page_is_not_taken_for_success(
    start_api: ApiFactory, servicenow: RunningServiceNow
) -> None:
    api = start_api(itsm_max_retries=1)
    servicenow.state.hibernating = True

    response = post(api, "/api/v1/tickets", {"platform": "servicenow", "payload": SN_PAYLOAD})

    assert response.status_code == 503
    assert "non-JSON page" in response.json()["detail"]


def test_ticket_linked_to_a_job_is_listed_by_job_id(api: RunningAPI) -> None:
    body = {"platform": "servicenow", "job_id": "job-42", "payload": SN_PAYLOAD}
    assert post(api, "/api/v1/tickets", body).status_code == 201

    listed = api.client.get("/api/v1/tickets", params={"job_id": "job-42"}, headers=AUTH)

    assert [t["job_id"] for t in listed.json()] == ["job-42"]
