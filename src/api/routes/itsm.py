"""Outbound ITSM API (admin token): create tickets, templates, toggles, ITSM health.

Bad input on these routes is HTTP 400 (not the API's usual 422), as the ITSM contract says:
:class:`_BadInputIs400` converts request and domain validation errors. Platform failures are
502 (rejected), 503 (unavailable, rate limited, or switched off) and 504 (timed out), with
the attempts made and the id under which the failure was recorded.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from src.api.deps import Admin, AppState
from src.api.errors import ApiError
from src.api.schemas_itsm import (
    DryRun,
    TemplateCreate,
    TicketCreate,
    TicketView,
    Toggles,
    ToggleUpdate,
)
from src.database.repositories import itsm as repo
from src.errors import (
    ExternalServiceError,
    FeatureDisabled,
    FieldError,
    RateLimited,
    Rejected,
    RetryableError,
    ServiceTimeout,
    ValidationFailed,
)
from src.services.itsm.jira import issue_fields
from src.services.itsm.runtime import open_itsm
from src.services.itsm.service import ItsmService
from src.services.itsm.types import PLATFORMS, Payload, Platform


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: AppState = app.state.enhancer
    async with open_itsm(state.settings, state.session_factory) as service:
        app.state.itsm = service
        yield


class _BadInputIs400(APIRoute):
    """Route class mapping invalid input to 400 and a switched-off platform to 503."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except RequestValidationError as exc:
                errors = [
                    FieldError(
                        ".".join(str(p) for p in e["loc"] if p != "body") or "body",
                        str(e["type"]),
                        str(e["msg"]),
                    )
                    for e in exc.errors()
                ]
                raise ApiError(400, "validation_failed", "Invalid request", errors) from exc
            except ValidationFailed as exc:
                raise ApiError(400, "validation_failed", str(exc), exc.errors) from exc
            except FeatureDisabled as exc:
                raise ApiError(503, "platform_disabled", str(exc)) from exc

        return handler


async def _service(request: Request) -> ItsmService:
    service: ItsmService | None = getattr(request.app.state, "itsm", None)
    if service is None:
        raise ApiError(503, "itsm_not_started", "ITSM is not started (app lifespan not run)")
    return service


Itsm = Annotated[ItsmService, Depends(_service)]

router = APIRouter(lifespan=_lifespan)
api = APIRouter(prefix="/api/v1", dependencies=[Admin], route_class=_BadInputIs400)


def upstream_error(exc: ExternalServiceError, ticket_id: str) -> ApiError:
    """The HTTP error for a platform failure, naming attempts and the recorded ticket."""
    tries = f"after {exc.attempts} attempt{'s' if exc.attempts != 1 else ''}"
    if exc.retry_delay_s:
        tries += f" ({exc.retry_delay_s:.1f}s of retry delay)"
    message = f"{exc} {tries}; recorded as ticket {ticket_id}"
    headers = {"X-ITSM-Attempts": str(exc.attempts), "X-ITSM-Ticket-Id": ticket_id}
    if isinstance(exc, ServiceTimeout):
        return ApiError(504, "upstream_timeout", message, headers=headers)
    if isinstance(exc, RetryableError):
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            headers["Retry-After"] = str(math.ceil(exc.retry_after))
        return ApiError(503, "upstream_unavailable", message, headers=headers)
    # 400/401/403/404 from the platform: our payload, credentials or URL, not a retry case.
    errors = exc.errors if isinstance(exc, Rejected) else None
    return ApiError(502, "upstream_rejected", message, errors, headers=headers)


def request_body(platform: Platform, payload: Payload) -> dict[str, Any]:
    """What would be sent on the wire (Jira gets ``fields`` with an ADF description)."""
    return {"fields": issue_fields(payload)} if platform == "jira" else dict(payload)


@api.post("/tickets", status_code=201)
async def create_ticket(body: TicketCreate, itsm: Itsm) -> TicketView:
    """Create a ticket from the platform's own fields."""
    ticket_id = str(uuid.uuid4())
    try:
        row = await itsm.create(
            body.platform, body.payload, job_id=body.job_id, ticket_id=ticket_id
        )
    except ExternalServiceError as exc:
        raise upstream_error(exc, ticket_id) from exc
    return TicketView.of(row)


@api.post("/tickets/from-template", status_code=201, response_model=None)
async def create_from_template(
    body: TemplateCreate, itsm: Itsm, response: Response
) -> TicketView | DryRun:
    """Render a template; ``dry_run`` returns the payload without calling the platform."""
    if body.dry_run:
        preview = await itsm.preview(
            body.platform, body.template_name, body.variables, job_id=body.job_id
        )
        response.status_code = 200
        return DryRun(
            platform=preview.platform,
            template_name=preview.template_name,
            payload=preview.payload,
            request_body=request_body(preview.platform, preview.payload),
        )
    ticket_id = str(uuid.uuid4())
    try:
        row = await itsm.create_from_template(
            body.platform,
            body.template_name,
            body.variables,
            job_id=body.job_id,
            ticket_id=ticket_id,
        )
    except ExternalServiceError as exc:
        raise upstream_error(exc, ticket_id) from exc
    return TicketView.of(row)


@api.get("/tickets/templates")
async def list_templates(itsm: Itsm, platform: Platform | None = None) -> list[dict[str, Any]]:
    """Templates (name, description, required variables, payload), optionally per platform."""
    return [t.summary() for t in itsm.catalog.list(platform)]


@api.get("/tickets/toggle")
async def get_toggles(itsm: Itsm) -> Toggles:
    """Which platforms accept new tickets."""
    return Toggles(**await itsm.toggles())


@api.put("/tickets/toggle")
async def put_toggles(body: ToggleUpdate, itsm: Itsm) -> Toggles:
    """Switch platforms on or off for every process (persisted in ``runtime_flags``)."""
    changes: dict[Platform, bool] = {}
    if body.servicenow_enabled is not None:
        changes["servicenow"] = body.servicenow_enabled
    if body.jira_enabled is not None:
        changes["jira"] = body.jira_enabled
    if not changes:
        raise ValidationFailed(
            [FieldError("body", "required", "give servicenow_enabled and/or jira_enabled")]
        )
    return Toggles(**await itsm.set_toggles(changes, updated_by="admin-api"))


@api.get("/tickets")
async def list_tickets(
    itsm: Itsm,
    platform: Platform | None = None,
    job_id: str | None = Query(None, max_length=128),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> list[TicketView]:
    """Stored tickets (created and failed), newest first."""
    async with itsm.session_factory() as session:
        rows = await repo.list_tickets(
            session, platform=platform, job_id=job_id, limit=limit, offset=offset
        )
    return [TicketView.of(row) for row in rows]


@api.get("/tickets/{ticket_id}")
async def get_ticket(ticket_id: str, itsm: Itsm) -> TicketView:
    """One stored ticket with its SLA state."""
    async with itsm.session_factory() as session:
        row = await repo.get_ticket(session, ticket_id=ticket_id)
    if row is None:
        raise ApiError(404, "not_found", f"No ITSM ticket '{ticket_id}'")
    return TicketView.of(row)


@api.get("/health")
async def itsm_health(itsm: Itsm) -> dict[str, Any]:
    """Reachability of each ITSM platform (one quick authenticated call, no retries)."""
    toggles = await itsm.toggles()
    platforms: dict[str, dict[str, Any]] = {}
    for platform in PLATFORMS:
        client = itsm.client_for(platform)
        info: dict[str, Any] = {
            "configured": client is not None,
            "enabled": toggles[f"{platform}_enabled"],
            "reachable": None,
        }
        if client is not None:
            started = time.monotonic()
            try:
                await client.ping()
            except ExternalServiceError as exc:
                info.update(reachable=False, error=str(exc))
            else:
                info["reachable"] = True
            info["latency_ms"] = round((time.monotonic() - started) * 1000, 1)
        platforms[platform] = info
    degraded = any(p["enabled"] and p["reachable"] is False for p in platforms.values())
    return {"status": "degraded" if degraded else "ok", "platforms": platforms}


router.include_router(api)
