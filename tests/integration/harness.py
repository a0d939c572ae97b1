"""Run the real product (API + embedded worker) against the local fakes, over real HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from src.config import Settings
from src.database.crypto import SecretBox
from src.database.repositories.corpus import search_similar_tickets
from src.database.repositories.tenants import upsert_tenant
from src.database.session import SessionFactory, make_engine, make_session_factory, transaction
from src.main import build_app
from src.nodes.sources import ContextSources
from tests.fakes.sdp import RunningSDP
from tests.fakes.server import serve_in_thread

WEBHOOK_SECRET = "webhook-secret-0123456789"
TENANT = "acme"


def add_tenant(
    settings: Settings, sdp: RunningSDP, *, tenant_id: str = TENANT, auth: str = "onprem"
) -> None:
    """Register ``sdp`` as a tenant in the settings' database."""
    add_tenant_record(
        settings, base_url=sdp.base_url, api_key=sdp.api_key, tenant_id=tenant_id, auth=auth
    )


def add_tenant_record(
    settings: Settings,
    *,
    base_url: str,
    api_key: str,
    tenant_id: str = TENANT,
    auth: str = "onprem",
) -> None:
    """Register a tenant at ``base_url`` (nothing needs to listen there)."""

    async def work() -> None:
        engine = make_engine(settings)
        async with transaction(make_session_factory(engine)) as session:
            await upsert_tenant(
                session,
                box=SecretBox(settings.encryption_key),
                tenant_id=tenant_id,
                base_url=base_url,
                api_key=api_key,
                webhook_secret=WEBHOOK_SECRET,
                auth_scheme=auth,
            )
        await engine.dispose()

    asyncio.run(work())


@dataclass
class RunningAPI:
    """The product's API (with its embedded worker) on a real port."""

    base_url: str
    settings: Settings
    client: httpx.Client

    def webhook(
        self, ticket_id: str, *, tenant_id: str = TENANT, secret: str = WEBHOOK_SECRET
    ) -> httpx.Response:
        """Deliver an SDP webhook the way an admin-templated payload would."""
        return self.client.post(
            f"/webhooks/servicedesk/{tenant_id}",
            json={"request": {"id": ticket_id, "subject": "ignored"}},
            headers={"X-Webhook-Secret": secret},
        )

    def admin_headers(self) -> dict[str, str]:
        """The admin token's ``Authorization`` header."""
        assert self.settings.admin_api_token is not None
        return {"Authorization": f"Bearer {self.settings.admin_api_token.get_secret_value()}"}

    def admin_get(self, path: str, **params: Any) -> httpx.Response:
        """GET an admin route with the admin token."""
        return self.client.get(path, params=params, headers=self.admin_headers())

    def history(self, correlation_id: str) -> dict[str, Any]:
        """The job's history row, through the admin API."""
        response = self.admin_get(f"/api/v1/enhancements/{correlation_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def wait_for(
        self,
        correlation_id: str,
        statuses: tuple[str, ...] = ("completed", "failed"),
        timeout: float = 20.0,
    ) -> dict[str, Any]:
        """Poll until the job reaches one of ``statuses``; fails the test on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            row = self.history(correlation_id)
            if row["status"] in statuses:
                return row
            if time.monotonic() > deadline:
                raise AssertionError(f"job still {row['status']} after {timeout}s: {row}")
            time.sleep(0.05)


@contextmanager
def running_api(
    settings: Settings, *, sources: ContextSources | None = None
) -> Iterator[RunningAPI]:
    """Serve ``build_app(settings)`` with its lifespan (so the worker pool runs)."""
    app = build_app(settings, sources=sources)
    with (
        serve_in_thread(app, lifespan="on") as base_url,
        httpx.Client(base_url=base_url, timeout=10) as client,
    ):
        yield RunningAPI(base_url, settings, client)


def seed_samples(settings: Settings, *, tenant_id: str = TENANT) -> None:
    """Load the demo's sample KB, past tickets, assets and networks for ``tenant_id``."""
    from src.database.importers import import_file
    from src.demo.samples import SAMPLES_DIR

    async def work() -> None:
        engine = make_engine(settings)
        factory = make_session_factory(engine)
        for kind in ("kb", "tickets", "assets", "networks"):
            await import_file(
                factory, kind=kind, path=SAMPLES_DIR / f"{kind}.json", tenant_id=tenant_id
            )
        await engine.dispose()

    asyncio.run(work())


async def similar_ids(factory: SessionFactory, text: str, *, limit: int = 5) -> list[str]:
    """The ticket ids ``search_similar_tickets`` finds for ``text`` in the default tenant."""
    async with factory() as session:
        found = await search_similar_tickets(
            session,
            tenant_id=TENANT,
            text=text,
            exclude_ticket_id=None,
            limit=limit,
            url_for=lambda _: None,
        )
    return [t.ticket_id for t in found]
