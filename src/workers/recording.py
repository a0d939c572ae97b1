"""Turn a finished graph run into the ``enhancement_history`` columns and the next status."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Any

from src.config import Settings
from src.database.models import utcnow
from src.database.repositories.history import ClaimedJob, JobOutcome
from src.graph.state import EnhancementState, JobFailure

_NODE_COLUMNS = {
    "similar_tickets": "ticket_search_time_ms",
    "kb_search": "kb_search_time_ms",
    "ip_lookup": "ip_lookup_time_ms",
}


def state_values(state: EnhancementState, total_ms: int) -> dict[str, Any]:
    """History columns describing what the run did, whatever its outcome."""
    values: dict[str, Any] = {"total_time_ms": total_ms}
    outcomes = state.get("outcomes", {})
    if outcomes:
        values["context_nodes_success"] = sum(o.status == "success" for o in outcomes.values())
        values["context_nodes_failed"] = sum(o.status != "success" for o in outcomes.values())
        values["node_details"] = {name: asdict(o) for name, o in outcomes.items()}
        for name, column in _NODE_COLUMNS.items():
            if name in outcomes:
                values[column] = outcomes[name].elapsed_ms
    timings = state.get("timings", {})
    for key, column in (
        ("context_ms", "context_time_ms"),
        ("synthesis_ms", "synthesis_time_ms"),
        ("writeback_ms", "writeback_time_ms"),
    ):
        if key in timings:
            values[column] = timings[key]
    synthesis = state.get("synthesis")
    if synthesis is not None:
        values.update(
            used_fallback=synthesis.used_fallback,
            fallback_reason=synthesis.fallback_reason,
            llm_model=synthesis.model,
            prompt_tokens=synthesis.prompt_tokens,
            completion_tokens=synthesis.completion_tokens,
            cost=synthesis.cost,
        )
    if "note_html" in state:
        values["enhancement"] = state["note_html"]
    if "note_id" in state:
        values["sdp_note_id"] = state["note_id"]
    return values


def failure_outcome(
    job: ClaimedJob, failure: JobFailure, settings: Settings, values: dict[str, Any]
) -> JobOutcome:
    """Retry a retryable failure later (up to ``ENHANCEMENT_MAX_RETRIES``), else fail the job."""
    retries_used = job.attempts - job.retry_base - 1  # since the last operator re-queue
    if failure.retryable and retries_used < settings.enhancement_max_retries:
        delay = max(settings.enhancement_retry_delay, failure.retry_after or 0.0)
        return JobOutcome(
            status="pending",
            error_message=failure.message,
            next_attempt_at=utcnow() + timedelta(seconds=delay),
            values=values,
        )
    return JobOutcome(status="failed", error_message=failure.message, values=values)
