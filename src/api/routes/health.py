"""``GET /health`` (liveness, no dependencies) and ``GET /health/enhancement`` (readiness)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from src.api.deps import State
from src.api.health_checks import enhancement_health

router = APIRouter()


@router.get("/health")
async def health(state: State) -> dict[str, object]:
    """The process is up and serving; includes the in-process queue's state."""
    return {"status": "ok", "queue": state.queue.describe()}


@router.get("/health/enhancement")
async def health_enhancement(request: Request, state: State) -> JSONResponse:
    """Database, queue, OpenRouter and each tenant's ServiceDesk, with status and latency.

    200 ``healthy`` or ``degraded`` (LLM or ServiceDesk down); 503 ``unhealthy`` (database or
    queue down).
    """
    status, body = await enhancement_health(state, request.state.correlation_id)
    return JSONResponse(body, status_code=status)
