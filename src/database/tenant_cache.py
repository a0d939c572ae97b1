"""Decrypted tenants kept for ``TENANT_CACHE_SECONDS``.

The webhook authenticates and the worker calls SDP with a tenant's secrets on every request or
job; reading and decrypting the row each time was a visible share of their CPU. A change made
with ``enhancer tenants add`` reaches running processes within the TTL.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from src.database.crypto import SecretBox
from src.database.repositories.tenants import Tenant, get_tenant
from src.database.session import SessionFactory
from src.database.single_flight import SingleFlight
from src.errors import NotFoundError


@dataclass
class TenantCache:
    """Decrypted tenants by id, each kept for ``ttl`` seconds (unknown ids too)."""

    factory: SessionFactory
    box: SecretBox
    ttl: float
    _entries: dict[str, tuple[float, Tenant | None]] = field(default_factory=dict)
    _loads: SingleFlight[str, tuple[float, Tenant | None]] = field(default_factory=SingleFlight)

    async def get(self, tenant_id: str) -> Tenant:
        """The tenant; raises ``NotFoundError`` for an unknown id.

        When the entry is missing or expired, one read serves every caller waiting for it: at
        each expiry, the jobs in flight used to read (and open connections) all at once.
        """
        entry = self._entries.get(tenant_id)
        if entry is None or entry[0] < time.monotonic():
            entry = await self._loads.run(tenant_id, lambda: self._load(tenant_id))
        if entry[1] is None:
            raise NotFoundError(f"Unknown tenant '{tenant_id}'")
        return entry[1]

    async def _load(self, tenant_id: str) -> tuple[float, Tenant | None]:
        try:
            async with self.factory() as session:
                tenant: Tenant | None = await get_tenant(session, box=self.box, tenant_id=tenant_id)
        except NotFoundError:
            tenant = None
        entry = (time.monotonic() + self.ttl, tenant)
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[tenant_id] = entry
        return entry
