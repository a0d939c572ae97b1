"""``GET /health/enhancement``: each dependency's failure gives the documented state."""

from __future__ import annotations

import http.server
import socket
import subprocess
import threading
from pathlib import Path
from typing import Any

from src.config import Settings, load_settings
from tests.conftest import make_settings
from tests.fakes.llm import RunningLLM
from tests.fakes.sdp import RunningSDP, running_sdp
from tests.integration.harness import add_tenant, running_api

LLM_KEY = "sk-or-health-test-key-0123456789"


def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def with_values(settings: Settings, **overrides: object) -> Settings:
    """``settings`` with ``overrides``, validated like the environment would be."""
    return load_settings(**{**settings.model_dump(), **overrides})


def _settings(settings: Settings, llm: RunningLLM, **overrides: object) -> Settings:
    return with_values(
        settings,
        openrouter_api_key=LLM_KEY,
        openrouter_base_url=llm.base_url,
        health_check_timeout_seconds=2.0,
        **overrides,
    )


def _health(settings: Settings) -> tuple[int, dict[str, Any]]:
    with running_api(settings) as api:
        response = api.client.get(
            "/health/enhancement", headers={"X-Correlation-ID": "hc-000000001"}
        )
    body: dict[str, Any] = response.json()
    return response.status_code, body


def test_all_dependencies_up_is_healthy_with_latency_for_each(
    settings: Settings, sdp: RunningSDP, llm: RunningLLM
) -> None:
    add_tenant(settings, sdp)
    status, body = _health(_settings(settings, llm))
    assert status == 200, body
    assert body["status"] == "healthy"
    checks = body["checks"]
    assert {name: c["status"] for name, c in checks.items()} == {
        "database": "up",
        "queue": "up",
        "openrouter": "up",
        "servicedesk": "up",
    }
    assert all(isinstance(c["latency_ms"], int) for c in checks.values())
    assert checks["queue"]["kind"] == "embedded"
    assert checks["servicedesk"]["tenants"]["acme"]["status"] == "up"
    models = [c for c in llm.state.calls if c.path.endswith("/models")]
    assert models and models[0].headers["authorization"] == f"Bearer {LLM_KEY}"
    assert models[0].headers["x-correlation-id"] == "hc-000000001"
    assert not llm.state.chat_calls  # never a paid completion
    assert sdp.state.calls[-1].headers["x-correlation-id"] == "hc-000000001"


def test_llm_down_is_degraded_not_unhealthy(
    settings: Settings, sdp: RunningSDP, llm: RunningLLM
) -> None:
    add_tenant(settings, sdp)
    llm.state.mode, llm.state.status_code = "error", 503
    status, body = _health(_settings(settings, llm))
    assert status == 200
    assert body["status"] == "degraded"
    assert body["checks"]["openrouter"]["status"] == "down"
    assert body["checks"]["openrouter"]["detail"] == "OpenRouter API error: 503 Service Unavailable"


def test_llm_not_configured_or_disabled_is_not_a_failure(
    settings: Settings, sdp: RunningSDP, llm: RunningLLM
) -> None:
    add_tenant(settings, sdp)
    status, body = _health(settings)
    assert (status, body["status"]) == (200, "healthy")
    assert body["checks"]["openrouter"]["status"] == "not_configured"
    status, body = _health(_settings(settings, llm, disable_llm_synthesis=True))
    assert (status, body["status"]) == (200, "healthy")
    assert body["checks"]["openrouter"]["status"] == "disabled"


def test_servicedesk_down_is_degraded_and_names_the_tenant(
    settings: Settings, sdp: RunningSDP, llm: RunningLLM
) -> None:
    add_tenant(settings, sdp)
    with running_sdp() as doomed:
        add_tenant(settings, doomed, tenant_id="gone")
    status, body = _health(_settings(settings, llm))
    assert status == 200
    assert body["status"] == "degraded"
    desk = body["checks"]["servicedesk"]
    assert desk["status"] == "down" and desk["detail"] == "down: gone"
    assert desk["tenants"]["acme"]["status"] == "up"
    assert desk["tenants"]["gone"]["status"] == "down"
    assert "ServiceDesk API unreachable" in desk["tenants"]["gone"]["detail"]


def test_servicedesk_rejecting_the_key_is_down(settings: Settings, sdp: RunningSDP) -> None:
    add_tenant(settings, sdp)
    sdp.state.fail_next("GET", 401)
    status, body = _health(settings)
    assert (status, body["status"]) == (200, "degraded")
    detail = body["checks"]["servicedesk"]["tenants"]["acme"]["detail"]
    assert detail == "ServiceDesk API returned 401 Unauthorized"


def test_redis_down_is_unhealthy_503(settings: Settings, sdp: RunningSDP) -> None:
    add_tenant(settings, sdp)
    broken = with_values(settings, redis_url=f"redis://127.0.0.1:{closed_port()}/0")
    status, body = _health(broken)
    assert status == 503
    assert body["status"] == "unhealthy"
    queue = body["checks"]["queue"]
    assert queue["status"] == "down" and queue["detail"].startswith("Connection refused: redis")
    assert body["checks"]["database"]["status"] == "up"


def test_a_redis_that_accepts_but_never_answers_is_a_timeout(
    settings: Settings, sdp: RunningSDP
) -> None:
    add_tenant(settings, sdp)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel accepts connections; nothing ever answers PING
        port = silent.getsockname()[1]
        broken = with_values(
            settings, redis_url=f"redis://127.0.0.1:{port}/0", health_check_timeout_seconds=0.5
        )
        status, body = _health(broken)
    assert status == 503
    detail = body["checks"]["queue"]["detail"]
    assert detail.startswith("Timeout: redis did not answer"), detail


def test_dead_database_port_is_unhealthy_503(tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/enhancer"
    status, body = _health(make_settings(tmp_path, database_url=url))
    assert status == 503
    assert body["status"] == "unhealthy"
    assert body["checks"]["database"]["status"] == "down"
    assert "Database connection lost" in body["checks"]["database"]["detail"]
    assert body["checks"]["servicedesk"]["status"] == "unknown"


def test_liveness_needs_no_dependency(tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/enhancer"
    with running_api(make_settings(tmp_path, database_url=url)) as api:
        assert api.client.get("/health").status_code == 200


def test_health_check_script_summarises_and_exits_by_state(
    settings: Settings, sdp: RunningSDP, llm: RunningLLM
) -> None:
    script = Path(__file__).resolve().parents[2] / "scripts/health-check.sh"
    add_tenant(settings, sdp)
    llm.state.mode, llm.state.status_code = "error", 503
    with running_api(_settings(settings, llm)) as api:
        degraded = subprocess.run(
            [str(script), api.base_url], capture_output=True, text=True, timeout=30, check=False
        )
    assert degraded.returncode == 1, degraded.stdout + degraded.stderr
    assert "overall: degraded" in degraded.stdout
    assert "OpenRouter API error: 503 Service Unavailable" in degraded.stdout
    gone = subprocess.run(
        [str(script), f"http://127.0.0.1:{closed_port()}"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert gone.returncode == 2 and "UNREACHABLE" in gone.stdout


def test_health_check_script_calls_a_non_json_answer_unhealthy() -> None:
    """A proxy's HTML error page is not "degraded": the script says what it got and exits 2."""
    script = Path(__file__).resolve().parents[2] / "scripts/health-check.sh"
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = subprocess.run(
            [str(script), f"http://127.0.0.1:{server.server_address[1]}"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 2, result.stdout + result.stderr
    assert "UNEXPECTED RESPONSE" in result.stdout and "404" in result.stdout
    assert "Traceback" not in result.stderr
