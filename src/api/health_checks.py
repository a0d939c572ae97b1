"""``GET /health/enhancement``: every dependency checked in parallel, each with a short timeout.

Overall ``healthy``; ``degraded`` when only the LLM or a ServiceDesk tenant is down (the
fallback note and job retries cover those); ``unhealthy`` when the database or the queue is
down (nothing can be recorded or run), which the route answers with HTTP 503.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from src.api.deps import AppState
from src.database.repositories import flags, stats, tenants
from src.errors import EnhancerError
from src.services.health import (
    Check,
    CheckStatus,
    probe_openrouter,
    probe_redis,
    probe_servicedesk,
    timed,
)
from src.services.http import make_http_client
from src.services.servicedesk_client import SDPCredentials

_CRITICAL = ("database", "queue")


async def _bounded(
    probe: Callable[[], Awaitable[Check]], timeout: float, service: str = "ServiceDesk"
) -> Check:
    async def guarded() -> Check:
        try:
            async with asyncio.timeout(timeout):
                return await probe()
        except TimeoutError:
            return Check("down", detail=f"Timeout: {service} did not answer within {timeout:g}s")
        except (SQLAlchemyError, OSError) as exc:
            return Check("down", detail=f"Database connection lost: {exc}"[:300])

    return await timed(guarded)


async def enhancement_health(state: AppState, correlation_id: str) -> tuple[int, dict[str, Any]]:
    """Check everything; returns the HTTP status (200 or 503) and the body."""
    settings = state.settings
    timeout = settings.health_check_timeout_seconds

    async def database() -> Check:
        async with state.session_factory() as session:
            await stats.ping(session)
        return Check("up")

    async def queue() -> Check:
        described = state.queue.describe()
        broker = settings.broker_url
        if broker and broker.startswith(("redis://", "rediss://", "unix://")):
            check = await probe_redis(broker, timeout=timeout)
            check.extra = {"kind": "celery", "broker": "redis", **_public(described)}
            return check
        if broker:
            return Check("unknown", detail="broker is not Redis; not probed", extra=described)
        running = described.get("running", True)
        return Check("up" if running else "down", extra=_public(described))

    async with make_http_client(timeout=timeout, verify=settings.verify_ssl) as http:

        async def openrouter() -> Check:
            if settings.disable_llm_synthesis:
                return Check("disabled", detail="DISABLE_LLM_SYNTHESIS is set")
            if settings.openrouter_api_key is None:
                return Check("not_configured", detail="OPENROUTER_API_KEY not set")
            try:
                async with state.session_factory() as session:
                    if await flags.get_flag(
                        session, name=flags.DISABLE_LLM_SYNTHESIS, default=False
                    ):
                        return Check("disabled", detail="disabled at run time (enhancer llm)")
            except (SQLAlchemyError, OSError):
                pass  # the database check reports it; still probe the LLM
            return await probe_openrouter(
                http,
                base_url=settings.openrouter_base_url,
                api_key=settings.openrouter_api_key.get_secret_value(),
                correlation_id=correlation_id,
            )

        async def servicedesk() -> Check:
            try:
                loaded = await _tenant_credentials()
            except (SQLAlchemyError, OSError):
                return Check("unknown", detail="tenants unreadable: the database is down")
            if not loaded:
                return Check("not_configured", detail="no enabled tenant")
            return await _probe_tenants(loaded)

        async def _tenant_credentials() -> list[tuple[str, SDPCredentials | None, str | None]]:
            async with state.session_factory() as session:
                summaries = [t for t in await tenants.list_tenants(session) if t.enabled]
                loaded: list[tuple[str, SDPCredentials | None, str | None]] = []
                for summary in summaries:
                    try:
                        tenant = await tenants.get_tenant(
                            session, box=state.box, tenant_id=summary.tenant_id
                        )
                    except EnhancerError as exc:
                        loaded.append((summary.tenant_id, None, str(exc)))
                    else:
                        creds = SDPCredentials(
                            tenant.base_url,
                            tenant.api_key,
                            tenant.auth_scheme,  # type: ignore[arg-type]
                        )
                        loaded.append((summary.tenant_id, creds, None))
            return loaded

        async def _probe_tenants(
            loaded: list[tuple[str, SDPCredentials | None, str | None]],
        ) -> Check:
            async def one(creds: SDPCredentials | None, error: str | None) -> Check:
                if creds is None:
                    return Check("down", detail=error)
                return await probe_servicedesk(http, creds, correlation_id=correlation_id)

            results = await asyncio.gather(
                *(_bounded(functools.partial(one, c, e), timeout) for _, c, e in loaded)
            )
            by_tenant = {tid: r.as_dict() for (tid, _, _), r in zip(loaded, results, strict=True)}
            down = [tid for tid, r in by_tenant.items() if r["status"] == "down"]
            status: CheckStatus = "down" if down else "up"
            detail = f"down: {', '.join(down)}" if down else None
            return Check(status, detail=detail, extra={"tenants": by_tenant})

        names = ("database", "queue", "openrouter", "servicedesk")
        probes = (database, queue, openrouter, servicedesk)
        services = ("database", "redis" if settings.redis_url else "queue", "OpenRouter", "tenants")
        results = await asyncio.gather(
            *(_bounded(p, timeout, s) for p, s in zip(probes, services, strict=True))
        )
    checks = dict(zip(names, results, strict=True))
    overall = "healthy"
    if any(checks[name].status == "down" for name in _CRITICAL):
        overall = "unhealthy"
    elif any(c.status == "down" for c in checks.values()):
        overall = "degraded"
    body = {"status": overall, "checks": {name: c.as_dict() for name, c in checks.items()}}
    return (503 if overall == "unhealthy" else 200), body


def _public(described: dict[str, object]) -> dict[str, Any]:
    """Queue facts safe to show (no broker URL with its password)."""
    return {k: v for k, v in described.items() if "url" not in k.lower()}
