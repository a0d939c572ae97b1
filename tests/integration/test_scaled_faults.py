"""The scaled deployment under faults: 0 lost and 0 duplicated notes at the fake SDP each time."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import httpx

from src.config import Settings
from tests.conftest import PG_ADMIN_URL, make_settings
from tests.fakes.llm import RunningLLM
from tests.fakes.sdp import RunningSDP
from tests.integration.harness import WEBHOOK_SECRET, RunningAPI, add_tenant, running_api
from tests.integration.scaled import PrivateRedis, celery_workers, wait_all


def _with_slow_llm(settings: Settings, llm: RunningLLM, latency: float) -> Settings:
    llm.state.latency_seconds = latency
    return make_settings(
        settings.var_dir.parent,
        **{
            **{k: v for k, v in settings.model_dump().items() if v is not None},
            "openrouter_api_key": "sk-test-0123456789",
            "openrouter_base_url": llm.base_url,
            "admin_api_token": "test-admin-token-0123456789",
            "secret_key": "test-secret-key-0123456789abcdef",
        },
    )


def _exactly_one_note_each(sdp: RunningSDP, tickets: list[str]) -> None:
    counts = {t: len(sdp.state.notes_for(t)) for t in tickets}
    assert counts == dict.fromkeys(tickets, 1)


def _send(api: RunningAPI, tickets: list[str]) -> list[str]:
    responses = [api.webhook(t) for t in tickets]
    assert [r.status_code for r in responses] == [202] * len(tickets)
    return [r.json()["correlation_id"] for r in responses]


def _wait_processing(api: RunningAPI, at_least: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while len(api.admin_get("/api/v1/enhancements", status="processing").json()) < at_least:
        assert time.monotonic() < deadline, "jobs never started"
        time.sleep(0.05)


def test_worker_sigkilled_mid_batch_then_restarted(
    scaled_settings: Settings, sdp: RunningSDP, llm: RunningLLM, tmp_path: Path
) -> None:
    settings = _with_slow_llm(scaled_settings, llm, latency=1.5)
    add_tenant(settings, sdp)
    tickets = [sdp.state.add_request(f"Disk full {i}", description="x") for i in range(20)]
    with celery_workers(settings, tmp_path) as workers, running_api(settings) as api:
        cids = _send(api, tickets)
        _wait_processing(api, at_least=5)
        workers.kill()
        workers.start()
        rows = wait_all(api, cids, timeout=90)
    assert [r["status"] for r in rows] == ["completed"] * 20
    _exactly_one_note_each(sdp, tickets)


def test_redis_flushall_with_jobs_queued(
    scaled_settings: Settings, sdp: RunningSDP, redis_server: PrivateRedis, tmp_path: Path
) -> None:
    add_tenant(scaled_settings, sdp)
    tickets = [sdp.state.add_request(f"Printer {i}", description="x") for i in range(10)]
    with running_api(scaled_settings) as api:
        cids = _send(api, tickets)
        client = redis_server.client()
        deadline = time.monotonic() + 10
        while client.llen("default") < 10:
            assert time.monotonic() < deadline, "jobs were never published"
            time.sleep(0.05)
        client.flushall()
        client.close()
        with celery_workers(scaled_settings, tmp_path):
            rows = wait_all(api, cids, timeout=60)
    assert [r["status"] for r in rows] == ["completed"] * 10
    _exactly_one_note_each(sdp, tickets)


def test_postgres_connections_killed_mid_batch(
    scaled_settings: Settings, sdp: RunningSDP, llm: RunningLLM, tmp_path: Path
) -> None:
    settings = _with_slow_llm(scaled_settings, llm, latency=1.0)
    add_tenant(settings, sdp)
    tickets = [sdp.state.add_request(f"Slow app {i}", description="x") for i in range(15)]
    database = settings.database_url.rsplit("/", 1)[1]

    async def kill_backends() -> int:
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            killed = await conn.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                database,
            )
        finally:
            await conn.close()
        return len(killed)

    with celery_workers(settings, tmp_path), running_api(settings) as api:
        cids = _send(api, tickets)
        _wait_processing(api, at_least=5)
        assert asyncio.run(kill_backends()) > 0
        rows = wait_all(api, cids, timeout=90)
    assert [r["status"] for r in rows] == ["completed"] * 15
    _exactly_one_note_each(sdp, tickets)


def test_same_webhook_ten_times_concurrently_makes_one_job(
    scaled_settings: Settings, sdp: RunningSDP, tmp_path: Path
) -> None:
    add_tenant(scaled_settings, sdp)
    ticket = sdp.state.add_request("Phone broken", description="x")
    with celery_workers(scaled_settings, tmp_path), running_api(scaled_settings) as api:

        def deliver(_: int) -> httpx.Response:
            with httpx.Client(base_url=api.base_url, timeout=10) as client:
                return client.post(
                    "/webhooks/servicedesk/acme",
                    json={"request": {"id": ticket}},
                    headers={"X-Webhook-Secret": WEBHOOK_SECRET},
                )

        with ThreadPoolExecutor(10) as pool:
            responses = list(pool.map(deliver, range(10)))
        assert sorted(r.status_code for r in responses) == [200] * 9 + [202]
        assert len({r.json()["job_id"] for r in responses}) == 1
        wait_all(api, [responses[0].json()["correlation_id"]])
    _exactly_one_note_each(sdp, [ticket])


def test_sdp_429_on_every_third_call(
    scaled_settings: Settings, sdp: RunningSDP, tmp_path: Path
) -> None:
    add_tenant(scaled_settings, sdp)
    tickets = [sdp.state.add_request(f"VPN {i}", description="x") for i in range(12)]
    sdp.state.fail_every(3, 429, retry_after=0)
    with celery_workers(scaled_settings, tmp_path), running_api(scaled_settings) as api:
        rows = wait_all(api, _send(api, tickets), timeout=90)
    sdp.state.fail_every(0, 429)
    assert [r["status"] for r in rows] == ["completed"] * 12
    _exactly_one_note_each(sdp, tickets)


def test_llm_down_for_the_whole_batch_opens_the_shared_breaker(
    scaled_settings: Settings,
    sdp: RunningSDP,
    llm: RunningLLM,
    redis_server: PrivateRedis,
    tmp_path: Path,
) -> None:
    settings = _with_slow_llm(scaled_settings, llm, latency=0)
    llm.state.mode = "error"
    llm.state.status_code = 503
    add_tenant(settings, sdp)
    first = [sdp.state.add_request(f"Outage A{i}", description="x") for i in range(6)]
    later = [sdp.state.add_request(f"Outage B{i}", description="x") for i in range(6)]
    with celery_workers(settings, tmp_path, count=2), running_api(settings) as api:
        first_rows = []
        for ticket in first:  # one at a time, so the failures are counted before the next call
            first_rows += wait_all(api, _send(api, [ticket]))
        client = redis_server.client()
        assert client.get("openrouter:pybreaker:state") == b"open"
        client.close()
        calls_when_open = len(llm.state.chat_calls)
        later_rows = wait_all(api, _send(api, later))
    assert calls_when_open == settings.breaker_fail_max
    assert len(llm.state.chat_calls) == calls_when_open  # no worker called the LLM again
    assert all(r["status"] == "completed" and r["used_fallback"] for r in first_rows + later_rows)
    reasons = {r["fallback_reason"] for r in later_rows}
    assert reasons == {"circuit breaker open"}
    _exactly_one_note_each(sdp, first + later)


def test_a_long_retry_after_delays_the_celery_retry_until_the_job_is_due(
    scaled_settings: Settings, sdp: RunningSDP, tmp_path: Path
) -> None:
    # Retry-After 6 s is over SDP_RETRY_MAX_DELAY: the job goes back to pending for 6 s, longer
    # than ENHANCEMENT_RETRY_DELAY (0.5 s). The reconciler is kept out of the way (60 s), so
    # only a Celery retry timed by the job's next_attempt_at can finish it in time.
    settings = scaled_settings.model_copy(update={"reconcile_pending_after_seconds": 60})
    add_tenant(settings, sdp)
    ticket = sdp.state.add_request("VPN down", description="x")
    sdp.state.fail_next("GET", 429, retry_after=6)
    with celery_workers(settings, tmp_path), running_api(settings) as api:
        started = time.monotonic()
        (row,) = wait_all(api, _send(api, [ticket]), timeout=30)
    assert row["status"] == "completed"
    assert time.monotonic() - started >= 6
    _exactly_one_note_each(sdp, [ticket])
