"""``enhancer demo``: the whole product on this machine, with a local SDP simulator.

Starts the SDP simulator and the API with its embedded worker on 127.0.0.1, loads sample KB
articles, past tickets and inventory, sends webhooks for three new tickets, and prints each
note and its history row.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from src.config import Settings
from src.database.crypto import SecretBox
from src.database.importers import import_file
from src.database.migrate import upgrade
from src.database.repositories import history
from src.database.repositories.tenants import upsert_tenant
from src.database.session import make_engine, make_session_factory, transaction
from src.demo.samples import SAMPLES_DIR
from src.demo.sdp_simulator import DEFAULT_API_KEY, create_sdp_simulator
from src.main import build_app
from src.services.text import html_to_text

TENANT = "demo"
WEBHOOK_SECRET = "demo-webhook-secret-0123"
NEW_TICKETS = (
    (
        "VPN drops every few minutes since this morning",
        "<p>Remote staff lose the VPN (gateway 10.20.30.40) every 5 minutes. Started at 08:00.</p>",
    ),
    (
        "Orders page very slow",
        "<p>Checkout takes 30s. db-prod-02 at 10.50.1.12 looks busy in monitoring.</p>",
    ),
    ("Cannot print on floor 3", "<p>Printer 10.20.40.15 shows offline for the whole floor.</p>"),
)


@dataclass(frozen=True, slots=True)
class DemoResult:
    """What the demo did: the jobs' final rows and where the servers listen."""

    jobs: list[dict[str, Any]]
    api_url: str
    sdp_url: str


def _listening_socket(port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


async def _start(app: Any, port: int = 0) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    sock = _listening_socket(port)
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return server, task, f"http://127.0.0.1:{sock.getsockname()[1]}"


async def _prepare(settings: Settings, sdp_url: str) -> None:
    await asyncio.to_thread(upgrade, settings.database_url)  # alembic runs its own event loop
    engine = make_engine(settings)
    factory = make_session_factory(engine)
    async with transaction(factory) as session:
        await upsert_tenant(
            session,
            box=SecretBox(settings.encryption_key),
            tenant_id=TENANT,
            base_url=sdp_url,
            api_key=DEFAULT_API_KEY,
            webhook_secret=WEBHOOK_SECRET,
        )
    for kind in ("kb", "tickets", "assets", "networks"):
        await import_file(factory, kind=kind, path=SAMPLES_DIR / f"{kind}.json", tenant_id=TENANT)
    await engine.dispose()


async def _wait_for_jobs(
    settings: Settings, correlation_ids: list[str], timeout: float
) -> list[dict[str, Any]]:
    engine = make_engine(settings)
    factory = make_session_factory(engine)
    deadline = time.monotonic() + timeout
    try:
        while True:
            async with factory() as session:
                rows = [await history.get_job(session, correlation_id=c) for c in correlation_ids]
            done = all(r is not None and r.status in ("completed", "failed") for r in rows)
            if done or time.monotonic() > deadline:
                return [
                    {c.name: getattr(r, c.name) for c in r.__table__.columns}
                    for r in rows
                    if r is not None
                ]
            await asyncio.sleep(0.1)
    finally:
        await engine.dispose()


async def run_demo(
    settings: Settings,
    *,
    port: int = 0,
    keep_running: bool = False,
    say: Callable[[str], None] = print,
    timeout: float = 120.0,
) -> DemoResult:
    """Run the demo; with ``keep_running`` the servers stay up until cancelled (Ctrl-C)."""
    sdp_app, sdp_state = create_sdp_simulator()
    sdp_server, sdp_task, sdp_url = await _start(sdp_app)
    await _prepare(settings, sdp_url)
    api_server, api_task, api_url = await _start(build_app(settings), port)
    say(f"SDP simulator: {sdp_url}    Enhancer API: {api_url}")
    if settings.llm_enabled:
        say(f"Synthesis: LLM {settings.llm_model} at {settings.openrouter_base_url}")
    else:
        say("Synthesis: formatted fallback (set OPENROUTER_API_KEY to use an LLM)")
    correlation_ids = []
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        for subject, description in NEW_TICKETS:
            ticket_id = sdp_state.add_request(subject, description=description)
            response = await client.post(
                f"/webhooks/servicedesk/{TENANT}",
                json={"request": {"id": ticket_id}},
                headers={"X-Webhook-Secret": WEBHOOK_SECRET},
            )
            response.raise_for_status()
            correlation_ids.append(response.json()["correlation_id"])
            say(f"Webhook for ticket {ticket_id} accepted: {response.json()}")
    jobs = await _wait_for_jobs(settings, correlation_ids, timeout)
    for job in jobs:
        _print_job(job, say)
    if keep_running:
        say(f"\nStill running. Try: curl {api_url}/health   (Ctrl-C to stop)")
        await asyncio.gather(api_task, sdp_task)
    for server in (api_server, sdp_server):
        server.should_exit = True
    await asyncio.gather(api_task, sdp_task)
    return DemoResult(jobs=jobs, api_url=api_url, sdp_url=sdp_url)


def _print_job(job: dict[str, Any], say: Callable[[str], None]) -> None:
    say("\n" + "=" * 78)
    say(
        f"Ticket {job['ticket_id']}  status={job['status']}  correlation_id={job['correlation_id']}"
    )
    say(
        f"context ok/failed={job['context_nodes_success']}/{job['context_nodes_failed']}  "
        f"similar={job['ticket_search_time_ms']}ms kb={job['kb_search_time_ms']}ms "
        f"ip={job['ip_lookup_time_ms']}ms synthesis={job['synthesis_time_ms']}ms "
        f"write-back={job['writeback_time_ms']}ms total={job['total_time_ms']}ms"
    )
    say(
        f"used_fallback={job['used_fallback']}  reason={job['fallback_reason']}  "
        f"model={job['llm_model']}  sdp_note_id={job['sdp_note_id']}"
    )
    if job["error_message"]:
        say(f"error_message: {job['error_message']}")
    say("-" * 78)
    say(html_to_text(job["enhancement"]) if job["enhancement"] else "(no note)")
