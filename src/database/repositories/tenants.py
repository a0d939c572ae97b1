"""Queries on ``tenant_configs``; secrets are encrypted on the way in, decrypted on the way out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from src.database.crypto import SecretBox
from src.database.models import TenantConfig
from src.errors import FieldError, NotFoundError, ValidationFailed

TENANT_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
AUTH_SCHEMES = ("onprem", "cloud")


@dataclass(frozen=True, slots=True)
class Tenant:
    """A tenant with its secrets decrypted; never log this object."""

    tenant_id: str
    base_url: str
    api_key: str
    auth_scheme: str
    webhook_secret: str
    enabled: bool

    def __repr__(self) -> str:
        return f"Tenant(tenant_id={self.tenant_id!r}, base_url={self.base_url!r})"


@dataclass(frozen=True, slots=True)
class TenantSummary:
    """What may be shown of a tenant: no secrets."""

    tenant_id: str
    base_url: str
    auth_scheme: str
    enabled: bool


def _validate(tenant_id: str, base_url: str, api_key: str, secret: str, auth: str) -> None:
    errors: list[FieldError] = []
    if not TENANT_ID_PATTERN.match(tenant_id):
        errors.append(
            FieldError("tenant_id", "invalid", "use 1-64 letters, digits, '.', '_' or '-'")
        )
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        errors.append(FieldError("base_url", "invalid_url", "must be an http:// or https:// URL"))
    if not api_key.strip():
        errors.append(FieldError("api_key", "missing", "must not be empty"))
    if len(secret) < 16:
        errors.append(FieldError("webhook_secret", "too_short", "must be at least 16 characters"))
    if auth not in AUTH_SCHEMES:
        errors.append(FieldError("auth", "invalid_choice", "must be 'onprem' or 'cloud'"))
    if errors:
        raise ValidationFailed(errors)


async def upsert_tenant(
    session: AsyncSession,
    *,
    box: SecretBox,
    tenant_id: str,
    base_url: str,
    api_key: str,
    webhook_secret: str,
    auth_scheme: str = "onprem",
    enabled: bool = True,
) -> bool:
    """Create or replace a tenant; returns True when it was new."""
    _validate(tenant_id, base_url, api_key, webhook_secret, auth_scheme)
    row = await session.get(TenantConfig, tenant_id)
    created = row is None
    if row is None:
        row = TenantConfig(tenant_id=tenant_id)
        session.add(row)
    row.base_url = base_url.rstrip("/")
    row.api_key = box.encrypt(api_key)
    row.webhook_secret = box.encrypt(webhook_secret)
    row.auth_scheme = auth_scheme
    row.enabled = enabled
    return created


async def get_tenant(session: AsyncSession, *, box: SecretBox, tenant_id: str) -> Tenant:
    """Return the tenant, decrypted; raises ``NotFoundError`` if it does not exist."""
    row = await session.get(TenantConfig, tenant_id)
    if row is None:
        raise NotFoundError(f"Unknown tenant '{tenant_id}'")
    return Tenant(
        tenant_id=row.tenant_id,
        base_url=row.base_url,
        api_key=box.decrypt(row.api_key),
        auth_scheme=row.auth_scheme,
        webhook_secret=box.decrypt(row.webhook_secret),
        enabled=row.enabled,
    )


async def list_tenants(session: AsyncSession) -> list[TenantSummary]:
    """All tenants, without secrets, ordered by id."""
    rows = await session.scalars(select(TenantConfig).order_by(TenantConfig.tenant_id))
    return [TenantSummary(r.tenant_id, r.base_url, r.auth_scheme, r.enabled) for r in rows]
