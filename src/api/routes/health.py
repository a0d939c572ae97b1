"""``GET /health``: liveness only; it checks nothing outside this process."""

from __future__ import annotations

from fastapi import APIRouter

from src.api.deps import State

router = APIRouter()


@router.get("/health")
async def health(state: State) -> dict[str, object]:
    """The process is up and serving; includes the in-process queue's state."""
    return {"status": "ok", "queue": state.queue.describe()}
