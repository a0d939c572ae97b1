"""``run_enhancement(job_id)``: the one code path that runs a job, in every deployment.

Claim the row (lease) → run the graph with the tenant's SDP client → record the outcome.
A retryable failure puts the job back to ``pending`` with ``next_attempt_at``; anything else
ends it ``completed`` or ``failed``. If this process dies mid-job, the lease expires and
another worker re-runs it; ``write_back`` then finds the note already posted and adopts it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx
import structlog
from sqlalchemy.exc import SQLAlchemyError

from src.config import Settings
from src.database.repositories import history
from src.database.session import Connections, SessionFactory
from src.database.tenant_cache import TenantCache
from src.errors import ConfigError, NotFoundError
from src.graph.state import EnhancementState, JobFailure, JobInfo, JobRuntime
from src.logging import get_logger
from src.services.http import RetryPolicy
from src.services.servicedesk_client import SDPCredentials, ServiceDeskClient, ticket_web_url
from src.workers.job_metrics import observe_job
from src.workers.recording import failure_outcome, state_values

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class WorkerDeps:
    """What a worker process needs to run jobs; built once per process (one event loop)."""

    settings: Settings
    session_factory: SessionFactory
    job_connections: Connections  # claim/finish: single statements (autocommit on PostgreSQL)
    tenants: TenantCache
    http: httpx.AsyncClient
    graph: object  # compiled LangGraph graph (langgraph ships no precise public type)


async def run_enhancement(job_id: str, deps: WorkerDeps) -> str | None:
    """Run one job to its next status; returns that status, or None if it was not claimable."""
    settings = deps.settings
    async with deps.job_connections() as conn:
        job = await history.claim(conn, job_id=job_id, lease_seconds=settings.job_lease_seconds)
    if job is None:
        log.info("job_not_claimable", job_id=job_id)
        return None
    with structlog.contextvars.bound_contextvars(
        correlation_id=job.correlation_id,
        job_id=job.job_id,
        tenant_id=job.tenant_id,
        ticket_id=job.ticket_id,
        attempt=job.attempts,
    ):
        started = time.perf_counter()
        log.info("job_started")
        state = await _run_graph(job, deps)
        total_ms = round((time.perf_counter() - started) * 1000)
        values = state_values(state, total_ms)
        failure = state.get("failure")
        if failure is None:
            outcome = history.JobOutcome(status="completed", values=values)
        else:
            outcome = failure_outcome(job, failure, settings, values)
        try:
            async with deps.job_connections() as conn:
                recorded = await history.finish(conn, job=job, outcome=outcome)
        except SQLAlchemyError as exc:
            log.error("job_record_failed", error=f"Database connection lost: {exc}"[:500])
            return None
        if not recorded:
            log.warning("job_lease_lost")
            return None
        observe_job(state, outcome.status, time.perf_counter() - started)
        log.info(
            "job_finished",
            status=outcome.status,
            error_message=outcome.error_message,
            total_time_ms=total_ms,
            used_fallback=values.get("used_fallback"),
        )
        return outcome.status


async def _run_graph(job: history.ClaimedJob, deps: WorkerDeps) -> EnhancementState:
    try:
        tenant = await deps.tenants.get(job.tenant_id)
    except (NotFoundError, ConfigError) as exc:
        return {"failure": JobFailure("load_tenant", str(exc), retryable=False)}
    creds = SDPCredentials(tenant.base_url, tenant.api_key, tenant.auth_scheme)  # type: ignore[arg-type]
    runtime = JobRuntime(
        sdp=ServiceDeskClient(
            deps.http,
            creds,
            RetryPolicy.from_settings(deps.settings),
            correlation_id=job.correlation_id,
        ),
        ticket_url=lambda ticket_id: ticket_web_url(tenant.base_url, tenant.auth_scheme, ticket_id),
    )
    initial: EnhancementState = {
        "job": JobInfo(job.job_id, job.correlation_id, job.tenant_id, job.ticket_id, job.attempts),
        "outcomes": {},
        "timings": {},
    }
    try:
        result: EnhancementState = await deps.graph.ainvoke(  # type: ignore[attr-defined]
            initial, context=runtime
        )
    except Exception as exc:
        log.exception("job_crashed")
        return {**initial, "failure": JobFailure("graph", f"Internal error: {exc}", False)}
    return result
