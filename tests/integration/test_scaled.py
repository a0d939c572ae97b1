"""The scaled deployment end to end: API + dispatcher → Redis → Celery worker → PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path

from src.config import Settings
from tests.fakes.sdp import RunningSDP
from tests.integration.harness import add_tenant, running_api, seed_samples
from tests.integration.scaled import PrivateRedis, celery_workers, wait_all


def test_webhooks_complete_through_celery_worker_on_postgres(
    scaled_settings: Settings, sdp: RunningSDP, tmp_path: Path
) -> None:
    add_tenant(scaled_settings, sdp)
    seed_samples(scaled_settings)
    tickets = [
        sdp.state.add_request(f"VPN down {i}", description="The VPN via 10.20.30.40 drops")
        for i in range(5)
    ]
    with celery_workers(scaled_settings, tmp_path) as workers, running_api(scaled_settings) as api:
        cids = [api.webhook(t).json()["correlation_id"] for t in tickets]
        rows = wait_all(api, cids)
        logs = workers.logs()
    assert [r["status"] for r in rows] == ["completed"] * 5, logs
    # Every context source answered on PostgreSQL, through the worker's own connections.
    assert [r["context_nodes_success"] for r in rows] == [3] * 5, rows[0]["node_details"]
    for ticket in tickets:
        [note] = sdp.state.notes_for(ticket)
        assert "vpn-gw-01" in str(note)  # the asset the inventory holds for 10.20.30.40


def test_redis_down_while_webhooks_arrive_loses_nothing(
    scaled_settings: Settings, sdp: RunningSDP, redis_server: PrivateRedis, tmp_path: Path
) -> None:
    add_tenant(scaled_settings, sdp)
    tickets = [sdp.state.add_request(f"Mail {i}", description="x") for i in range(10)]
    with celery_workers(scaled_settings, tmp_path), running_api(scaled_settings) as api:
        redis_server.stop()
        responses = [api.webhook(t) for t in tickets]
        assert [r.status_code for r in responses] == [202] * 10
        time.sleep(1)
        redis_server.start()
        rows = wait_all(api, [r.json()["correlation_id"] for r in responses], timeout=90)
    assert [r["status"] for r in rows] == ["completed"] * 10
    assert all(len(sdp.state.notes_for(t)) == 1 for t in tickets)
