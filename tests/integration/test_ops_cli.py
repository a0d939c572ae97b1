"""Operations through real processes: secrets never logged, one grep per job, re-queue and
the LLM switch from the CLI, and metrics recorded in a separate worker process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from src.services.llm_synthesis import RUNTIME_DISABLED_REASON
from tests.fakes.llm import RunningLLM
from tests.fakes.sdp import RunningSDP
from tests.integration.test_cli import ADMIN, ENHANCER, SECRET, _env, _free_port, _run
from tests.integration.test_ops_api import samples, value

LLM_KEY = "sk-or-v1-cli-secret-llm-key-0123456789"
HEADERS = {"Authorization": f"Bearer {ADMIN}"}


@contextmanager
def serving(env: dict[str, str], log_path: Path) -> Iterator[httpx.Client]:
    """``enhancer serve`` on a free port, logs to ``log_path``."""
    port = _free_port()
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [ENHANCER, "serve", "--port", str(port)], env=env, stdout=log, stderr=log
        )
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert proc.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.1)
            yield client
        finally:
            client.close()
            proc.terminate()
            proc.wait(timeout=20)


def _setup(env: dict[str, str], sdp: RunningSDP) -> None:
    assert _run(env, "migrate").returncode == 0
    added = _run(
        env, "tenants", "add", "acme", "--base-url", sdp.base_url,
        "--api-key", sdp.api_key, "--webhook-secret", SECRET,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr


def _webhook(client: httpx.Client, ticket: str) -> str:
    response = client.post(
        "/webhooks/servicedesk/acme",
        json={"ticket_id": ticket},
        headers={"X-Webhook-Secret": SECRET},
    )
    assert response.status_code == 202, response.text
    cid: str = response.json()["correlation_id"]
    return cid


def _wait(client: httpx.Client, cid: str, *, attempts: int = 1) -> dict[str, object]:
    deadline = time.monotonic() + 20
    while True:
        row: dict[str, object] = client.get(f"/api/v1/enhancements/{cid}", headers=HEADERS).json()
        done = row["status"] in ("completed", "failed") and int(str(row["attempts"])) >= attempts
        if done:
            return row
        assert time.monotonic() < deadline, row
        time.sleep(0.05)


@pytest.fixture
def ops_env(tmp_path: Path, sdp: RunningSDP, llm: RunningLLM) -> dict[str, str]:
    env = _env(
        tmp_path,
        OPENROUTER_API_KEY=LLM_KEY,
        OPENROUTER_BASE_URL=llm.base_url,
        LOG_LEVEL="DEBUG",
        RUNTIME_FLAG_CACHE_SECONDS="0",
    )
    _setup(env, sdp)
    return env


def test_one_grep_finds_a_whole_job_and_no_secret_is_ever_logged(
    ops_env: dict[str, str], sdp: RunningSDP, llm: RunningLLM, tmp_path: Path
) -> None:
    log_path = tmp_path / "serve.log"
    ticket = sdp.state.add_request("Mail down", description="Exchange at 10.1.1.1 unreachable")
    with serving(ops_env, log_path) as client:
        cid = _webhook(client, ticket)
        assert _wait(client, cid)["status"] == "completed"
        assert client.get("/health/enhancement").json()["status"] == "healthy"
        client.get("/metrics")
    text = log_path.read_text()
    lines = [json.loads(line) for line in text.splitlines() if cid in line]  # grep CID
    assert all(line["correlation_id"] == cid for line in lines)
    events = [line["event"] for line in lines]
    assert events[0] == "webhook_accepted" and events[-1] == "job_finished"
    assert {"job_started", "ticket_fetched", "synthesis_done", "note_posted"} <= set(events)
    assert llm.state.chat_calls[0].headers["x-correlation-id"] == cid
    assert all(call.headers["x-correlation-id"] == cid for call in sdp.state.calls[:2])
    for secret in (sdp.api_key, SECRET, LLM_KEY, ADMIN):
        assert secret not in text


def test_requeue_by_each_selector_from_the_cli(
    ops_env: dict[str, str], sdp: RunningSDP, tmp_path: Path
) -> None:
    env = ops_env
    good = sdp.state.add_request("Good", description="works")
    bad = sdp.state.add_request("Bad", description="fails once")
    with serving(env, tmp_path / "serve.log") as client:
        good_cid = _webhook(client, good)
        good_row = _wait(client, good_cid)
        sdp.state.fail_next(f"/requests/{bad}", 401)
        bad_cid = _webhook(client, bad)
        assert _wait(client, bad_cid)["status"] == "failed"

        dry = _run(env, "requeue", "--status", "failed", "--since", "2h", "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert "would requeue job_id=" in dry.stdout and f"correlation_id={bad_cid}" in dry.stdout
        assert _wait(client, bad_cid)["status"] == "failed"

        by_status = _run(env, "requeue", "--status", "failed", "--since", "2h")
        assert "requeued job_id=" in by_status.stdout and bad_cid in by_status.stdout
        assert "1 of 1 job(s) requeued." in by_status.stdout
        assert _wait(client, bad_cid, attempts=2)["status"] == "completed"

        by_cid = _run(env, "requeue", "--correlation-id", good_cid)
        assert by_cid.returncode == 0 and "was=completed" in by_cid.stdout
        _wait(client, good_cid, attempts=2)
        by_job = _run(env, "requeue", "--job-id", str(good_row["job_id"]))
        assert by_job.returncode == 0, by_job.stderr
        _wait(client, good_cid, attempts=2)
        by_ticket = _run(env, "requeue", "--ticket-id", good, "--tenant-id", "acme")
        assert by_ticket.returncode == 0 and good_cid in by_ticket.stdout
        final = _wait(client, good_cid, attempts=2)
        time.sleep(0.3)
        final = _wait(client, good_cid, attempts=2)
    assert final["status"] == "completed" and final["sdp_note_id"] == good_row["sdp_note_id"]
    assert len(sdp.state.notes_for(good)) == 1  # re-runs adopt the note, never post twice
    assert len(sdp.state.notes_for(bad)) == 1
    none = _run(env, "requeue", "--correlation-id", "no-such-job")
    assert none.returncode == 1 and "No job matches." in none.stderr
    usage = _run(env, "requeue", "--ticket-id", good)
    assert usage.returncode == 2 and "--ticket-id needs --tenant-id." in usage.stderr


def test_llm_switch_from_the_cli_reaches_the_running_server(
    ops_env: dict[str, str], sdp: RunningSDP, llm: RunningLLM, tmp_path: Path
) -> None:
    env = ops_env
    ticket = sdp.state.add_request("Switch", description="off then on")
    assert "LLM synthesis: enabled" in _run(env, "llm", "status").stdout
    with serving(env, tmp_path / "serve.log") as client:
        disabled = _run(env, "llm", "disable")
        assert disabled.returncode == 0, disabled.stderr
        assert "disabled at run time" in _run(env, "llm", "status").stdout
        row = _wait(client, _webhook(client, ticket))
        assert row["fallback_reason"] == RUNTIME_DISABLED_REASON
        assert not llm.state.chat_calls
        assert _run(env, "llm", "enable").returncode == 0
        other = sdp.state.add_request("Switch 2", description="on again")
        row = _wait(client, _webhook(client, other))
    assert row["used_fallback"] is False and len(llm.state.chat_calls) == 1
    forced = _run({**env, "DISABLE_LLM_SYNTHESIS": "true"}, "llm", "status")
    assert "disabled (DISABLE_LLM_SYNTHESIS=true)" in forced.stdout


WORKER = """
import asyncio, sys
from src.config import load_settings
from src.logging import configure_logging
from src.workers.runtime import build_worker

async def main() -> None:
    worker = build_worker(load_settings())
    try:
        print(await worker.run(sys.argv[1]))
    finally:
        await worker.close()

configure_logging("INFO")
asyncio.run(main())
"""


def test_metrics_recorded_in_a_worker_process_show_on_the_api(
    tmp_path: Path, sdp: RunningSDP
) -> None:
    metrics_dir = tmp_path / "prom"
    metrics_dir.mkdir()
    env = _env(tmp_path, EMBEDDED_WORKER="false", PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    _setup(env, sdp)
    ticket = sdp.state.add_request("Remote", description="run elsewhere")
    with serving(env, tmp_path / "serve.log") as client:
        cid = _webhook(client, ticket)
        job_id = client.get(f"/api/v1/enhancements/{cid}", headers=HEADERS).json()["job_id"]
        pending = samples(client)
        assert value(pending, "enhancement_queue_depth", status="pending") == 1
        assert value(pending, "enhancement_queue_oldest_pending_age_seconds") >= 0
        worker = subprocess.run(
            [sys.executable, "-c", WORKER, job_id],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert worker.returncode == 0 and worker.stdout.strip() == "completed", worker.stderr
        after = samples(client)
    assert value(after, "enhancement_jobs_total", outcome="completed") == 1
    assert value(after, "outbound_requests_total", service="ServiceDesk", status="201") == 1
    assert value(after, "enhancement_node_duration_seconds_count", node="write_back") == 1
    assert value(after, "enhancement_queue_depth", status="pending") == 0
    route = "/webhooks/servicedesk/{tenant_id}"
    assert value(after, "http_requests_total", method="POST", route=route, status="202") == 1
