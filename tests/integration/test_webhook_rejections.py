"""Every bad webhook gets the right status and a clear body, and nothing is queued."""

from __future__ import annotations

import json
import time

import pytest

from src.api.webhook_auth import sign
from src.config import Settings
from tests.fakes.sdp import RunningSDP
from tests.integration.harness import TENANT, WEBHOOK_SECRET, RunningAPI, add_tenant, running_api


@pytest.fixture
def api(settings: Settings, sdp: RunningSDP) -> RunningAPI:
    add_tenant(settings, sdp)
    with running_api(settings) as running:
        yield running  # type: ignore[misc]


def _post(api: RunningAPI, body: bytes, headers: dict[str, str], tenant: str = TENANT) -> dict:
    response = api.client.post(f"/webhooks/servicedesk/{tenant}", content=body, headers=headers)
    return {"status": response.status_code, "body": response.json()}


def _nothing_queued(api: RunningAPI) -> None:
    assert api.admin_get("/api/v1/enhancements").json() == []


SECRET = {"X-Webhook-Secret": WEBHOOK_SECRET, "Content-Type": "application/json"}
GOOD = json.dumps({"request": {"id": "1001"}}).encode()


@pytest.mark.parametrize(
    ("tenant", "body", "headers", "status", "code", "field"),
    [
        ("nobody", GOOD, SECRET, 404, "unknown_tenant", None),
        (
            TENANT,
            GOOD,
            {"X-Webhook-Secret": "wrong-secret-wrong-secret"},
            401,
            "unauthorized",
            None,
        ),
        (TENANT, GOOD, {}, 401, "unauthorized", None),
        (TENANT, b"{not json", SECRET, 422, "validation_failed", "body"),
        (TENANT, b"[1, 2]", SECRET, 422, "validation_failed", "body"),
        (TENANT, b'{"subject": "no id"}', SECRET, 422, "validation_failed", "request.id"),
        (TENANT, b'{"request": {"id": "../etc"}}', SECRET, 422, "validation_failed", "request.id"),
        (TENANT, b'{"ticket_id": true}', SECRET, 422, "validation_failed", "ticket_id"),
        (TENANT, b'{"id": "' + b"x" * 300_000 + b'"}', SECRET, 413, "payload_too_large", None),
    ],
    ids=[
        "unknown-tenant",
        "bad-secret",
        "no-auth",
        "bad-json",
        "not-object",
        "missing-id",
        "bad-id",
        "bool-id",
        "too-large",
    ],
)
def test_bad_webhook_is_rejected_and_queues_nothing(
    api: RunningAPI,
    tenant: str,
    body: bytes,
    headers: dict[str, str],
    status: int,
    code: str,
    field: str | None,
) -> None:
    result = _post(api, body, headers, tenant)
    assert result["status"] == status
    assert result["body"]["code"] == code
    assert result["body"]["detail"]
    if field is not None:
        assert [e["field"] for e in result["body"]["errors"]] == [field]
        assert result["body"]["errors"][0]["message"]
    _nothing_queued(api)


def test_hmac_signature_accepted_within_window(api: RunningAPI) -> None:
    ts = str(int(time.time()))
    headers = {"X-Enhancer-Timestamp": ts, "X-Enhancer-Signature": sign(WEBHOOK_SECRET, ts, GOOD)}
    assert _post(api, GOOD, headers)["status"] == 202


@pytest.mark.parametrize("case", ["stale", "tampered", "bad-timestamp"])
def test_bad_hmac_signature_is_rejected(api: RunningAPI, case: str) -> None:
    ts = str(int(time.time()) - 600) if case == "stale" else str(int(time.time()))
    signature = sign(WEBHOOK_SECRET, ts, GOOD)
    body = GOOD.replace(b"1001", b"1002") if case == "tampered" else GOOD
    if case == "bad-timestamp":
        ts = "yesterday"
    result = _post(api, body, {"X-Enhancer-Timestamp": ts, "X-Enhancer-Signature": signature})
    assert result["status"] == 401
    _nothing_queued(api)


def test_ticket_id_accepted_at_each_documented_path(api: RunningAPI) -> None:
    for body in ({"request": {"id": 11}}, {"ticket_id": "12"}, {"id": "13"}):
        result = _post(api, json.dumps(body).encode(), SECRET)
        assert result["status"] == 202, result


def test_admin_routes_need_the_token(api: RunningAPI) -> None:
    assert api.client.get("/api/v1/enhancements").status_code == 401
    wrong = api.client.get("/api/v1/enhancements", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert api.admin_get("/api/v1/enhancements/does-not-exist").status_code == 404


def test_the_webhook_is_documented_in_openapi(api: RunningAPI) -> None:
    import httpx

    spec = httpx.get(f"{api.base_url}/openapi.json", timeout=5).json()
    operation = spec["paths"]["/webhooks/servicedesk/{tenant_id}"]["post"]
    assert {"202", "200"} <= set(operation["responses"])
