"""The ``enhancer`` command line, run as a user runs it (a real process)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakes.sdp import RunningSDP

ENHANCER = str(Path(sys.executable).with_name("enhancer"))
ADMIN = "cli-admin-token-0123456789"
SECRET = "cli-webhook-secret-0123456789"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENROUTER", "DATABASE"))}
    env.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/cli.db",
        VAR_DIR=str(tmp_path / "var"),
        ADMIN_API_TOKEN=ADMIN,
        SDP_RETRY_BASE_DELAY="0.01",
        WORKER_POLL_SECONDS="0.05",
    )
    env.update(extra)
    return env


def _run(
    env: dict[str, str],
    *args: str,
    program: tuple[str, ...] = (ENHANCER,),
    cwd: Path | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*program, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_bad_setting_stops_with_the_variable_named(tmp_path: Path) -> None:
    result = _run(_env(tmp_path, CONTEXT_TIMEOUT_SECONDS="-1"), "migrate")
    assert result.returncode == 2
    assert "CONTEXT_TIMEOUT_SECONDS" in result.stderr


def test_tenants_add_validates_and_list_never_prints_secrets(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert _run(env, "migrate").returncode == 0
    bad = _run(
        env,
        "tenants",
        "add",
        "acme",
        "--base-url",
        "ftp://sdp",
        "--api-key",
        "k",
        "--webhook-secret",
        SECRET,
    )
    assert bad.returncode == 1
    assert "base_url: must be an http:// or https:// URL" in bad.stderr
    ok = _run(
        env,
        "tenants",
        "add",
        "acme",
        "--base-url",
        "https://sdp.example.com",
        "--api-key",
        "very-secret-api-key",
        "--webhook-secret",
        SECRET,
        "--auth",
        "cloud",
    )
    assert ok.returncode == 0, ok.stderr
    listed = _run(env, "tenants", "list")
    assert "acme" in listed.stdout and "cloud" in listed.stdout
    for secret in ("very-secret-api-key", SECRET):
        assert secret not in listed.stdout + ok.stdout + listed.stderr + ok.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path, sdp: RunningSDP) -> Iterator[tuple[httpx.Client, dict[str, str], Path]]:
    env = _env(tmp_path)
    assert _run(env, "migrate").returncode == 0
    added = _run(
        env,
        "tenants",
        "add",
        "acme",
        "--base-url",
        sdp.base_url,
        "--api-key",
        sdp.api_key,
        "--webhook-secret",
        SECRET,
    )
    assert added.returncode == 0, added.stderr
    port = _free_port()
    log_path = tmp_path / "serve.log"
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
            yield client, env, log_path
        finally:
            client.close()
            proc.terminate()
            proc.wait(timeout=20)


def test_serve_enhances_a_ticket_and_logs_carry_the_correlation_id(
    served: tuple[httpx.Client, dict[str, str], Path], sdp: RunningSDP
) -> None:
    client, env, log_path = served
    ticket = sdp.state.add_request("Mail down", description="Exchange at 10.1.1.1 unreachable")
    accepted = client.post(
        "/webhooks/servicedesk/acme",
        json={"ticket_id": ticket},
        headers={"X-Webhook-Secret": SECRET},
    )
    assert accepted.status_code == 202
    cid = accepted.json()["correlation_id"]
    headers = {"Authorization": f"Bearer {ADMIN}"}
    deadline = time.monotonic() + 20
    while (
        client.get(f"/api/v1/enhancements/{cid}", headers=headers).json()["status"] != "completed"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.1)

    shown = _run(env, "history", "show", cid, "--json")
    assert shown.returncode == 0, shown.stderr
    record = json.loads(shown.stdout)
    assert record["status"] == "completed" and record["sdp_note_id"]

    lines = [json.loads(line) for line in log_path.read_text().splitlines() if cid in line]
    events = {line["event"] for line in lines}
    assert {
        "webhook_accepted",
        "job_started",
        "ticket_fetched",
        "synthesis_done",
        "note_posted",
        "job_finished",
    } <= events
    assert all(line["correlation_id"] == cid for line in lines)
    assert sdp.api_key not in log_path.read_text()


def test_history_show_unknown_id_exits_non_zero(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert _run(env, "migrate").returncode == 0
    result = _run(env, "history", "show", "nope")
    assert result.returncode == 1
    assert "No enhancement with correlation_id 'nope'" in result.stderr


def test_demo_enhances_sample_tickets_and_exits_zero(tmp_path: Path) -> None:
    result = _run(_env(tmp_path), "demo", cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("status=completed") == 3
    assert "formatted fallback (set OPENROUTER_API_KEY" in result.stdout
    assert "vpn-gw-01" in result.stdout
    assert "Demo finished: every ticket was enhanced." in result.stdout


def test_migrate_without_the_migrations_folder_says_how_to_install(tmp_path: Path) -> None:
    # A non-editable install copies only the package: src/ without alembic/ beside it.
    import shutil

    site = tmp_path / "site"
    shutil.copytree(
        Path(__file__).resolve().parents[2] / "src",
        site / "src",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    result = _run(
        {**_env(tmp_path), "PYTHONPATH": str(site)},
        "migrate",
        program=(sys.executable, "-c", "from src.cli import main; main()"),
        cwd=site,
    )
    assert result.returncode == 1, result.stderr
    assert "Migrations not found" in result.stderr
    assert "pip install -e ." in result.stderr
