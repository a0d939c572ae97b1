"""Cheap probes of the outside services, for ``GET /health/enhancement``.

Each probe makes one call with a short timeout and no retry, never a paid one: OpenRouter's
``GET {OPENROUTER_BASE_URL}/models`` with the key, ServiceDesk's ``GET /api/v3/requests`` for one
row with the tenant's credentials, Redis ``PING``. A probe returns a ``Check``; it never raises.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import redis.asyncio as aioredis
from redis.exceptions import AuthenticationError, RedisError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from src.services.http import status_message
from src.services.servicedesk_client import SDPCredentials

CheckStatus = Literal["up", "down", "disabled", "not_configured", "unknown"]


@dataclass(slots=True)
class Check:
    """One dependency's state: ``status``, the probe's ``latency_ms`` and what it found."""

    status: CheckStatus
    latency_ms: int = 0
    detail: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON form: status, latency_ms, detail when set, and any extra fields."""
        body: dict[str, Any] = {"status": self.status, "latency_ms": self.latency_ms}
        if self.detail:
            body["detail"] = self.detail
        body.update(self.extra)
        return body


async def timed(probe: Callable[[], Awaitable[Check]]) -> Check:
    """Run ``probe`` and fill in its latency."""
    started = time.perf_counter()
    check = await probe()
    check.latency_ms = round((time.perf_counter() - started) * 1000)
    return check


def _transport_detail(service: str, exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"{service} API timed out"
    return f"{service} API unreachable: {exc or type(exc).__name__}"


async def probe_openrouter(
    http: httpx.AsyncClient, *, base_url: str, api_key: str, correlation_id: str
) -> Check:
    """``GET {base_url}/models`` with the key: up on 2xx."""
    try:
        response = await http.get(
            f"{base_url}/models",
            headers={"Authorization": f"Bearer {api_key}", "X-Correlation-ID": correlation_id},
        )
    except httpx.TransportError as exc:
        return Check("down", detail=_transport_detail("OpenRouter", exc))
    if response.is_success:
        return Check("up")
    phrase = httpx.codes.get_reason_phrase(response.status_code) or "Unknown Status"
    return Check("down", detail=f"OpenRouter API error: {response.status_code} {phrase}")


async def probe_servicedesk(
    http: httpx.AsyncClient, creds: SDPCredentials, *, correlation_id: str
) -> Check:
    """List one request with the tenant's credentials: up on 2xx (checks reachability and key)."""
    headers = {**creds.headers(), "X-Correlation-ID": correlation_id}
    params = {"input_data": json.dumps({"list_info": {"row_count": 1, "start_index": 1}})}
    try:
        response = await http.get(
            f"{creds.site_root}/api/v3/requests", params=params, headers=headers
        )
    except httpx.TransportError as exc:
        return Check("down", detail=_transport_detail("ServiceDesk", exc))
    if response.is_success:
        return Check("up")
    return Check("down", detail=status_message("ServiceDesk", response.status_code))


def _redis_detail(exc: BaseException) -> str:
    """What went wrong talking to Redis, in the runbook's words (only a refusal is "refused")."""
    if isinstance(exc, (RedisTimeoutError, TimeoutError)):
        return f"Timeout: redis did not answer ({exc})"
    if isinstance(exc, AuthenticationError) or "NOAUTH" in str(exc) or "WRONGPASS" in str(exc):
        return f"Authentication failed: redis ({exc})"
    if isinstance(exc, ConnectionRefusedError) or "refused" in str(exc).lower():
        return f"Connection refused: redis ({exc})"
    if isinstance(exc, (RedisConnectionError, OSError)):
        return f"Connection failed: redis ({exc})"
    return f"Redis error: {exc}"


async def probe_redis(url: str, *, timeout: float) -> Check:
    """``PING`` the broker at ``url``."""
    client = aioredis.Redis.from_url(
        url, socket_connect_timeout=timeout, socket_timeout=timeout, retry_on_timeout=False
    )
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        return Check("down", detail=_redis_detail(exc)[:300])
    finally:
        await client.aclose()
    return Check("up")
