"""Every validation rule answers 400 with field, code and message, and nothing is sent."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes.jira import ISSUE, RunningJira
from tests.fakes.servicenow import TABLE, RunningServiceNow
from tests.integration.harness import RunningAPI
from tests.itsm.conftest import AUTH, JIRA_PAYLOAD, SN_PAYLOAD, post

CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("servicenow", {"short_description": None}, "payload.short_description", "required"),
    ("servicenow", {"short_description": "  "}, "payload.short_description", "required"),
    ("servicenow", {"short_description": "x" * 161}, "payload.short_description", "max_length"),
    ("servicenow", {"description": "x" * 4001}, "payload.description", "max_length"),
    ("servicenow", {"urgency": "4"}, "payload.urgency", "invalid_choice"),
    ("servicenow", {"impact": 1}, "payload.impact", "type"),
    ("servicenow", {"contact_type": "pigeon"}, "payload.contact_type", "invalid_choice"),
    ("servicenow", {"correlation_id": "has space"}, "payload.correlation_id", "pattern"),
    ("servicenow", {"shortdescription": "typo"}, "payload.shortdescription", "unknown_field"),
    ("servicenow", {"sys_id": "abc"}, "payload.sys_id", "unknown_field"),
    ("jira", {"project": None}, "payload.project", "required"),
    ("jira", {"project": "ops"}, "payload.project", "pattern"),
    ("jira", {"summary": "x" * 256}, "payload.summary", "max_length"),
    ("jira", {"summary": "two\nlines"}, "payload.summary", "pattern"),
    ("jira", {"issuetype": "Epic"}, "payload.issuetype", "invalid_choice"),
    ("jira", {"priority": "Urgent"}, "payload.priority", "invalid_choice"),
    ("jira", {"labels": "enhancer"}, "payload.labels", "type"),
    ("jira", {"labels": ["has space"]}, "payload.labels[0]", "pattern"),
    ("jira", {"description": {"type": "doc"}}, "payload.description", "type"),
]


@pytest.mark.parametrize(("platform", "change", "field", "code"), CASES)
def test_invalid_payload_is_400_with_the_field_and_nothing_is_sent(
    api: RunningAPI,
    servicenow: RunningServiceNow,
    jira: RunningJira,
    platform: str,
    change: dict[str, Any],
    field: str,
    code: str,
) -> None:
    base = SN_PAYLOAD if platform == "servicenow" else JIRA_PAYLOAD
    payload = {**base, **change}
    payload = {k: v for k, v in payload.items() if v is not None}

    response = post(api, "/api/v1/tickets", {"platform": platform, "payload": payload})

    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "validation_failed"
    assert any(e["field"] == field and e["code"] == code and e["message"] for e in body["errors"])
    assert servicenow.state.creates(TABLE) == [] and jira.state.creates(ISSUE) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"platform": "remedy", "payload": SN_PAYLOAD}, "platform"),
        ({"platform": "servicenow"}, "payload"),
        ({"platform": "servicenow", "payload": SN_PAYLOAD, "extra": 1}, "extra"),
        ({"platform": "servicenow", "payload": SN_PAYLOAD, "job_id": "bad id"}, "job_id"),
        ({"platform": "servicenow", "payload": []}, "payload"),
    ],
)
def test_bad_request_shape_is_400_not_422(api: RunningAPI, body: Any, field: str) -> None:
    response = post(api, "/api/v1/tickets", body)

    assert response.status_code == 400, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


def test_malformed_json_is_400(api: RunningAPI) -> None:
    response = api.client.post(
        "/api/v1/tickets",
        content=b"{not json",
        headers={**AUTH, "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == "validation_failed"


def test_every_problem_is_listed_at_once(api: RunningAPI) -> None:
    payload = {"summary": "x" * 300, "issuetype": "Epic", "project": "ops"}

    response = post(api, "/api/v1/tickets", {"platform": "jira", "payload": payload})

    fields = sorted(e["field"] for e in response.json()["errors"])
    assert fields == ["payload.issuetype", "payload.project", "payload.summary"]


def test_routes_need_the_admin_token(api: RunningAPI) -> None:
    response = api.client.post("/api/v1/tickets", json={"platform": "jira", "payload": {}})

    assert response.status_code == 401
