"""Admin reading of ``enhancement_history`` (Bearer ``ADMIN_API_TOKEN``)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from src.api.deps import Admin, State
from src.api.errors import ApiError
from src.api.schemas import EnhancementView
from src.database.repositories import history
from src.database.repositories.requeue import Selector, requeue_selected
from src.database.session import transaction
from src.logging import get_logger

router = APIRouter(prefix="/api/v1/enhancements", dependencies=[Admin])

log = get_logger(__name__)

Status = Literal["pending", "processing", "completed", "failed"]


@router.get("")
async def list_enhancements(
    state: State,
    status: Status | None = None,
    ticket_id: str | None = None,
    tenant_id: str | None = None,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> list[EnhancementView]:
    """Jobs newest first, filtered by status, ticket and tenant."""
    async with state.session_factory() as session:
        rows = await history.list_jobs(
            session,
            status=status,
            ticket_id=ticket_id,
            tenant_id=tenant_id,
            limit=limit,
            offset=offset,
        )
    return [EnhancementView.model_validate(row) for row in rows]


@router.get("/{correlation_id}")
async def get_enhancement(correlation_id: str, state: State) -> EnhancementView:
    """One job by its correlation ID."""
    async with state.session_factory() as session:
        row = await history.get_job(session, correlation_id=correlation_id)
    if row is None:
        raise ApiError(404, "not_found", f"No enhancement with correlation_id '{correlation_id}'")
    return EnhancementView.model_validate(row)


@router.post("/{correlation_id}/requeue")
async def requeue_enhancement(correlation_id: str, state: State) -> dict[str, str]:
    """Put the job back to ``pending`` and wake the queue.

    404 unknown; 409 when it is processing or its ticket already has another live job. A
    re-queued job that had posted its note adopts that note instead of posting a second one.
    """
    async with transaction(state.session_factory) as session:
        results = await requeue_selected(session, Selector(correlation_id=correlation_id))
    if not results:
        raise ApiError(404, "not_found", f"No enhancement with correlation_id '{correlation_id}'")
    result = results[0]
    if not result.requeued:
        raise ApiError(409, "not_requeued", f"Not re-queued: {result.reason}")
    state.queue.notify(result.job_id)
    log.info("job_requeued", job_id=result.job_id, previous_status=result.previous_status)
    return {
        "job_id": result.job_id,
        "correlation_id": result.correlation_id,
        "status": "pending",
        "previous_status": result.previous_status,
    }
