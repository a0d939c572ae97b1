"""Toggles (persisted, shared), ITSM health, and SLA timestamps filled by ``enhancer itsm sync``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.fakes import jira as fake_jira
from tests.fakes import servicenow as fake_sn
from tests.fakes.jira import ISSUE, RunningJira
from tests.fakes.servicenow import TABLE, RunningServiceNow
from tests.itsm.conftest import AUTH, JIRA_PAYLOAD, SN_PAYLOAD, ApiFactory, post

ENHANCER = str(Path(sys.executable).with_name("enhancer"))


def test_toggle_off_refuses_creation_and_on_resumes_across_processes(
    start_api: ApiFactory, jira: RunningJira
) -> None:
    api = start_api()
    other = start_api()  # a second API process on the same database
    assert api.client.get("/api/v1/tickets/toggle", headers=AUTH).json() == {
        "servicenow_enabled": True,
        "jira_enabled": True,
    }

    off = api.client.put("/api/v1/tickets/toggle", json={"jira_enabled": False}, headers=AUTH)
    refused = post(other, "/api/v1/tickets", {"platform": "jira", "payload": JIRA_PAYLOAD})
    dry_run = post(
        other,
        "/api/v1/tickets/from-template",
        {
            "platform": "jira",
            "template_name": "problem_investigation",
            "variables": {"service_name": "VPN", "incident_count": "4", "window": "24 h"},
            "dry_run": True,
        },
    )

    assert off.json() == {"servicenow_enabled": True, "jira_enabled": False}
    assert refused.status_code == 503
    assert refused.json()["code"] == "platform_disabled"
    assert "switched off" in refused.json()["detail"]
    assert jira.state.creates(ISSUE) == []
    assert other.client.get("/api/v1/tickets", headers=AUTH).json() == []
    assert dry_run.status_code == 200

    api.client.put("/api/v1/tickets/toggle", json={"jira_enabled": True}, headers=AUTH)
    resumed = post(other, "/api/v1/tickets", {"platform": "jira", "payload": JIRA_PAYLOAD})
    assert resumed.status_code == 201


def test_bad_toggle_bodies_are_400(start_api: ApiFactory) -> None:
    api = start_api()
    for body in ({}, {"jira_enabled": "no"}, {"remedy_enabled": True}):
        response = api.client.put("/api/v1/tickets/toggle", json=body, headers=AUTH)
        assert response.status_code == 400, body


def test_unconfigured_platform_is_503_not_a_crash(start_api: ApiFactory) -> None:
    api = start_api(jira_url=None, jira_api_token=None, jira_email=None)

    response = post(api, "/api/v1/tickets", {"platform": "jira", "payload": JIRA_PAYLOAD})

    assert response.status_code == 503
    assert "not configured" in response.json()["detail"]


def test_health_reports_each_platforms_reachability(start_api: ApiFactory) -> None:
    healthy = start_api().client.get("/api/v1/health", headers=AUTH).json()
    broken = start_api(servicenow_password="wrong").client.get("/api/v1/health", headers=AUTH)

    assert healthy["status"] == "ok"
    assert healthy["platforms"]["servicenow"]["reachable"] is True
    assert healthy["platforms"]["jira"]["reachable"] is True
    body = broken.json()
    assert body["status"] == "degraded"
    assert body["platforms"]["servicenow"]["reachable"] is False
    assert "401" in body["platforms"]["servicenow"]["error"]


def test_sync_fills_sla_timestamps_from_both_platforms(
    start_api: ApiFactory, servicenow: RunningServiceNow, jira: RunningJira, tmp_path: Path
) -> None:
    api = start_api()
    sn = post(api, "/api/v1/tickets", {"platform": "servicenow", "payload": SN_PAYLOAD}).json()
    jr = post(api, "/api/v1/tickets", {"platform": "jira", "payload": JIRA_PAYLOAD}).json()
    left_new = post(api, "/api/v1/tickets", {"platform": "jira", "payload": JIRA_PAYLOAD}).json()
    resolved = datetime.now(UTC) + timedelta(seconds=5)
    servicenow.state.set_state(sn["external_id"], "2")
    jira.state.set_category(jr["key"], "done", resolved=resolved)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "JIRA", "SERV"))},
        "DATABASE_URL": api.settings.database_url,
        "VAR_DIR": str(tmp_path / "var"),
        "SERVICENOW_INSTANCE": servicenow.base_url,
        "SERVICENOW_USERNAME": fake_sn.USERNAME,
        "SERVICENOW_PASSWORD": fake_sn.PASSWORD,
        "JIRA_URL": jira.base_url,
        "JIRA_EMAIL": fake_jira.EMAIL,
        "JIRA_API_TOKEN": fake_jira.API_TOKEN,
    }

    first = subprocess.run(
        [ENHANCER, "itsm", "sync"], env=env, capture_output=True, text=True, timeout=60
    )
    servicenow.state.set_state(sn["external_id"], "6", resolved_at=resolved)
    second = subprocess.run(
        [ENHANCER, "itsm", "sync"], env=env, capture_output=True, text=True, timeout=60
    )

    assert first.returncode == 0, first.stderr
    assert "checked 3, acknowledged 2, resolved 1, failed 0" in first.stdout
    assert "checked 2, acknowledged 0, resolved 1, failed 0" in second.stdout
    sn_row = api.client.get(f"/api/v1/tickets/{sn['id']}", headers=AUTH).json()
    jr_row = api.client.get(f"/api/v1/tickets/{jr['id']}", headers=AUTH).json()
    new_row = api.client.get(f"/api/v1/tickets/{left_new['id']}", headers=AUTH).json()
    assert sn_row["remote_state"] == "6"
    assert sn_row["acknowledged_at"] is not None and sn_row["time_to_acknowledge"] >= 0
    assert sn_row["time_to_resolve"] >= sn_row["time_to_acknowledge"]
    assert sn_row["sla"] == {
        "acknowledge_target_s": 900.0,
        "resolve_target_s": 14400.0,
        "acknowledge_breached": False,
        "resolve_breached": False,
    }
    assert jr_row["remote_state"] == "done"
    assert jr_row["resolved_at"] is not None
    assert jr_row["time_to_acknowledge"] == jr_row["time_to_resolve"]
    assert new_row["remote_state"] == "new" and new_row["acknowledged_at"] is None
    assert len(servicenow.state.creates(TABLE)) == 1


def test_sync_reports_unreadable_tickets_and_exits_1(
    start_api: ApiFactory, servicenow: RunningServiceNow, tmp_path: Path
) -> None:
    api = start_api()
    post(api, "/api/v1/tickets", {"platform": "servicenow", "payload": SN_PAYLOAD})
    servicenow.state.incidents.clear()  # deleted on the instance: 404 on read
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "JIRA", "SERV"))},
        "DATABASE_URL": api.settings.database_url,
        "VAR_DIR": str(tmp_path / "var"),
        "SERVICENOW_INSTANCE": servicenow.base_url,
        "SERVICENOW_USERNAME": fake_sn.USERNAME,
        "SERVICENOW_PASSWORD": fake_sn.PASSWORD,
    }

    result = subprocess.run(
        [ENHANCER, "itsm", "sync"], env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 1
    assert "failed 1" in result.stdout
    assert "404 Not Found: No Record found" in result.stderr


def test_embedded_worker_syncs_sla_periodically(
    start_api: ApiFactory, servicenow: RunningServiceNow
) -> None:
    api = start_api(itsm_sync_interval_seconds=0.2, embedded_worker=True)
    sn = post(api, "/api/v1/tickets", {"platform": "servicenow", "payload": SN_PAYLOAD}).json()
    servicenow.state.set_state(sn["external_id"], "2")
    deadline = datetime.now(UTC) + timedelta(seconds=15)
    row = api.client.get(f"/api/v1/tickets/{sn['id']}", headers=AUTH).json()
    while row["acknowledged_at"] is None:
        assert datetime.now(UTC) < deadline, row
        time.sleep(0.1)
        row = api.client.get(f"/api/v1/tickets/{sn['id']}", headers=AUTH).json()
    assert row["remote_state"] == "2" and row["time_to_acknowledge"] >= 0
