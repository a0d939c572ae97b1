"""``POST /webhooks/servicedesk/{tenant_id}``: SDP tells us about a ticket.

Authenticate, validate, commit the ``enhancement_history`` row (the outbox), wake the queue,
answer 202. A ticket that already has a live job answers 200 with that job. Nothing is queued
for an unknown tenant (404), a bad secret (401), a malformed body (422) or a body over the cap
(413).
"""

from __future__ import annotations

from collections.abc import Mapping

import structlog
from fastapi import APIRouter, Request, Response
from starlette.requests import ClientDisconnect

from src.api.deps import AppState, State
from src.api.errors import ApiError
from src.api.schemas import JobAccepted, parse_webhook_ticket_id
from src.api.webhook_auth import verify_webhook
from src.database.repositories.intake import NewJob
from src.errors import NotFoundError
from src.logging import get_logger

router = APIRouter()
log = get_logger(__name__)


WEBHOOK_PATH = "/webhooks/servicedesk/{tenant_id}"


def body_too_large(limit: int) -> ApiError:
    """The 413 for a body over ``WEBHOOK_MAX_BODY_BYTES``."""
    return ApiError(413, "payload_too_large", f"Body larger than {limit} bytes")


async def _read_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise body_too_large(limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise body_too_large(limit)
            chunks.append(chunk)
    except ClientDisconnect as exc:
        raise ApiError(400, "client_disconnected", "Client disconnected mid-body") from exc
    return b"".join(chunks)


@router.post(
    WEBHOOK_PATH,
    status_code=202,
    responses={200: {"model": JobAccepted, "description": "The ticket already has a job"}},
)
async def receive_servicedesk_webhook(
    tenant_id: str, request: Request, response: Response, state: State
) -> JobAccepted:
    """Record a job for the ticket in the payload and queue it.

    This declaration documents the route (OpenAPI); requests are answered in front of FastAPI
    by ``src.api.webhook_asgi.EnhancerApp``, with the same ``accept_webhook``.
    """
    body = await _read_capped(request, state.settings.webhook_max_body_bytes)
    job, status = await accept_webhook(
        state, tenant_id, request.headers, body, request.state.correlation_id
    )
    request.state.correlation_id = job.correlation_id
    response.status_code = status
    return job


async def accept_webhook(
    state: AppState, tenant_id: str, headers: Mapping[str, str], body: bytes, correlation_id: str
) -> tuple[JobAccepted, int]:
    """Authenticate, validate and record one delivery; the job and the HTTP status (202/200).

    ``correlation_id`` is the request's; a duplicate delivery answers with its job's own.
    """
    settings = state.settings
    try:
        tenant = await state.tenants.get(tenant_id)
    except NotFoundError as exc:
        raise ApiError(404, "unknown_tenant", str(exc)) from exc
    if not tenant.enabled:
        raise ApiError(404, "unknown_tenant", f"Tenant '{tenant_id}' is disabled")
    reason = verify_webhook(
        tenant.webhook_secret,
        headers,
        body,
        tolerance_seconds=settings.webhook_signature_tolerance_seconds,
    )
    if reason is not None:
        log.warning("webhook_rejected", tenant_id=tenant_id, reason=reason)
        raise ApiError(401, "unauthorized", reason)
    ticket_id = parse_webhook_ticket_id(body)
    job = await state.intake.submit(
        NewJob(tenant_id=tenant_id, ticket_id=ticket_id, correlation_id=correlation_id)
    )
    created = job.created
    status = 202 if created else 200
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
