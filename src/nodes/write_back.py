"""``write_back``: post the note to the SDP ticket, exactly once per job.

The note carries the job's correlation ID. On any attempt after the first, the ticket's notes
are searched for it first: if an earlier attempt posted the note and died before recording
it, that note is adopted instead of posting a second one.
"""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime

from src.errors import ExternalServiceError
from src.graph.state import EnhancementState, JobRuntime
from src.logging import get_logger
from src.nodes.failures import failure_from

log = get_logger(__name__)


async def write_back(state: EnhancementState, runtime: Runtime[JobRuntime]) -> dict[str, Any]:
    """Post ``note_html`` to the ticket unless an earlier attempt already did."""
    job = state["job"]
    sdp = runtime.context.sdp
    started = time.perf_counter()

    def took() -> dict[str, int]:
        return {"writeback_ms": round((time.perf_counter() - started) * 1000)}

    try:
        if job.attempts > 1:
            existing = await sdp.find_note_containing(job.ticket_id, job.correlation_id)
            if existing is not None:
                log.info("note_already_posted", note_id=existing.id)
                return {"note_id": existing.id, "note_reused": True, "timings": took()}
        note = await sdp.add_note(job.ticket_id, state["note_html"])
    except ExternalServiceError as exc:
        log.warning("write_back_failed", error=str(exc))
        return {"failure": failure_from("write_back", exc), "timings": took()}
    log.info("note_posted", note_id=note.id, **took())
    return {"note_id": note.id, "note_reused": False, "timings": took()}
