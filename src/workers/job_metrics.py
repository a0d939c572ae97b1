"""Record a finished job attempt in the Prometheus metrics (``src/observability/metrics.py``)."""

from __future__ import annotations

from src.graph.state import EnhancementState
from src.observability import metrics as m

_OUTCOMES = {"completed": "completed", "failed": "failed", "pending": "retry"}
_STAGE_TIMINGS = (("context_ms", "context"), ("synthesis_ms", "synthesize"))
_API_FAILURES = frozenset({"api_error", "timeout", "unreachable", "malformed"})


def observe_job(state: EnhancementState, status: str, seconds: float) -> None:
    """Jobs by outcome, durations per node, node failures, fallback and LLM usage."""
    outcome = _OUTCOMES.get(status, status)
    m.JOBS.labels(outcome=outcome).inc()
    m.JOB_DURATION.labels(outcome=outcome).observe(seconds)
    for name, node in state.get("outcomes", {}).items():
        m.NODE_DURATION.labels(node=name).observe(node.elapsed_ms / 1000)
        if node.status != "success":
            m.NODE_FAILURES.labels(node=name, reason=node.status).inc()
    timings = state.get("timings", {})
    for key, node_name in _STAGE_TIMINGS:
        if key in timings:
            m.NODE_DURATION.labels(node=node_name).observe(timings[key] / 1000)
    if "writeback_ms" in timings:
        m.NODE_DURATION.labels(node="write_back").observe(timings["writeback_ms"] / 1000)
    failure = state.get("failure")
    if failure is not None:
        reason = "retryable" if failure.retryable else "permanent"
        m.NODE_FAILURES.labels(node=failure.phase, reason=reason).inc()
    synthesis = state.get("synthesis")
    if synthesis is None:
        return
    if synthesis.used_fallback:
        category = m.fallback_category(synthesis.fallback_reason)
        m.FALLBACKS.labels(reason=category).inc()
        if category in _API_FAILURES:
            m.LLM_REQUESTS.labels(outcome="error").inc()
        return
    m.LLM_REQUESTS.labels(outcome="success").inc()
    if synthesis.prompt_tokens:
        m.LLM_TOKENS.labels(kind="prompt").inc(synthesis.prompt_tokens)
    if synthesis.completion_tokens:
        m.LLM_TOKENS.labels(kind="completion").inc(synthesis.completion_tokens)
    if synthesis.cost:
        m.LLM_COST.inc(synthesis.cost)
