"""``POST /webhooks/servicedesk/{tenant_id}``: SDP tells us about a ticket.

Authenticate, validate, commit the ``enhancement_history`` row (the outbox), wake the queue,
answer 202. A ticket that already has a live job answers 200 with that job. Nothing is queued
for an unknown tenant (404), a bad secret (401), a malformed body (422) or a body over the cap
(413).
"""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Request, Response
from starlette.requests import ClientDisconnect
from starlette.routing import Route

from src.api.deps import AppState, State
from src.api.errors import ApiError
from src.api.schemas import JobAccepted, parse_webhook_ticket_id
from src.api.webhook_auth import verify_webhook
from src.database.repositories.intake import NewJob
from src.errors import NotFoundError
from src.logging import get_logger

router = APIRouter()
log = get_logger(__name__)


async def _read_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "payload_too_large", f"Body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(413, "payload_too_large", f"Body larger than {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect as exc:
        raise ApiError(400, "client_disconnected", "Client disconnected mid-body") from exc
    return b"".join(chunks)


@router.post(
    "/webhooks/servicedesk/{tenant_id}",
    status_code=202,
    responses={200: {"model": JobAccepted, "description": "The ticket already has a job"}},
)
async def receive_servicedesk_webhook(
    tenant_id: str, request: Request, response: Response, state: State
) -> JobAccepted:
    """Record a job for the ticket in the payload and queue it.

    This declaration documents the route (OpenAPI); requests are answered by
    ``servicedesk_webhook_endpoint``, the same logic without FastAPI's per-request dependency
    and response-model work, which ``create_app`` puts first in the routing table.
    """
    job, status = await accept_webhook(tenant_id, request, state)
    response.status_code = status
    return job


async def servicedesk_webhook_endpoint(request: Request) -> Response:
    """The webhook as a plain Starlette endpoint (what serves ``POST /webhooks/servicedesk/...``).

    Intake is the one hot route: every SDP ticket event arrives here. Measured with
    ``bench/intake.py``, skipping FastAPI's dependency solving and response-model serialization
    was a visible share of the API's CPU per webhook.
    """
    request.scope["route"] = WEBHOOK_ROUTE  # the metrics label, as FastAPI's routes set it
    state: AppState = request.app.state.enhancer
    job, status = await accept_webhook(request.path_params["tenant_id"], request, state)
    return Response(job.model_dump_json(), status_code=status, media_type="application/json")


WEBHOOK_ROUTE = Route(
    "/webhooks/servicedesk/{tenant_id}", servicedesk_webhook_endpoint, methods=["POST"]
)


async def accept_webhook(
    tenant_id: str, request: Request, state: AppState
) -> tuple[JobAccepted, int]:
    """Authenticate, validate and record one delivery; the job and the HTTP status (202/200)."""
    settings = state.settings
    body = await _read_capped(request, settings.webhook_max_body_bytes)
    try:
        tenant = await state.tenants.get(tenant_id)
    except NotFoundError as exc:
        raise ApiError(404, "unknown_tenant", str(exc)) from exc
    if not tenant.enabled:
        raise ApiError(404, "unknown_tenant", f"Tenant '{tenant_id}' is disabled")
    reason = verify_webhook(
        tenant.webhook_secret,
        request.headers,
        body,
        tolerance_seconds=settings.webhook_signature_tolerance_seconds,
    )
    if reason is not None:
        log.warning("webhook_rejected", tenant_id=tenant_id, reason=reason)
        raise ApiError(401, "unauthorized", reason)
    ticket_id = parse_webhook_ticket_id(body)
    job = await state.intake.submit(
        NewJob(
            tenant_id=tenant_id, ticket_id=ticket_id, correlation_id=request.state.correlation_id
        )
    )
    created = job.created
    status = 202 if created else 200
    request.state.correlation_id = job.correlation_id
    structlog.contextvars.bind_contextvars(correlation_id=job.correlation_id)
    if created:
        state.queue.notify(job.job_id)
        log.info("webhook_accepted", tenant_id=tenant_id, ticket_id=ticket_id, job_id=job.job_id)
    else:
        log.info(
            "webhook_duplicate",
            tenant_id=tenant_id,
            ticket_id=ticket_id,
            job_id=job.job_id,
            status=job.status,
        )
    accepted = JobAccepted(job_id=job.job_id, correlation_id=job.correlation_id, status=job.status)
    return accepted, status
