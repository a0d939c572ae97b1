"""Every Prometheus metric of the service, defined once, and how ``GET /metrics`` renders them.

Multi-process: when ``PROMETHEUS_MULTIPROC_DIR`` is set in a process's environment *before* it
starts (prometheus_client reads it at import), every process (API, Celery workers, beat) writes
its samples to memory-mapped files in that directory and ``GET /metrics`` on any API process
aggregates all of them. The directory must be shared by those processes (one host or one
volume) and emptied before they start; a process that exits calls ``mark_process_dead``.
Without it, each process keeps its own metrics in memory (the embedded default: one process).

Queue depth and the oldest pending job's age are not counted by anyone: they are read from
``enhancement_history`` at scrape time (``queue_families``), so they are right whatever process
inserted or finished the rows.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["CONTENT_TYPE_LATEST"]

# --- enhancement service metrics (one block; keep definitions here) -------------------------

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_JOB_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)

HTTP_REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests answered by the API, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
)
JOBS = Counter(
    "enhancement_jobs_total",
    "Enhancement job attempts by outcome: completed, failed, retry (back to pending).",
    ["outcome"],
)
JOB_DURATION = Histogram(
    "enhancement_job_duration_seconds",
    "Wall time of one job attempt, claim to recorded outcome.",
    ["outcome"],
    buckets=_JOB_BUCKETS,
)
NODE_DURATION = Histogram(
    "enhancement_node_duration_seconds",
    "Time spent in each pipeline node (similar_tickets, kb_search, ip_lookup, context, "
    "synthesize, write_back).",
    ["node"],
    buckets=_JOB_BUCKETS,
)
NODE_FAILURES = Counter(
    "enhancement_node_failures_total",
    "Node failures by node and reason (timeout, failed, retryable, permanent).",
    ["node", "reason"],
)
FALLBACKS = Counter(
    "enhancement_fallback_total",
    "Notes written from the formatted fallback instead of the LLM, by reason category.",
    ["reason"],
)
LLM_REQUESTS = Counter(
    "llm_requests_total",
    "Calls made to the LLM (OpenRouter), by outcome: success or error.",
    ["outcome"],
)
LLM_TOKENS = Counter(
    "llm_tokens_total", "Tokens used by LLM calls, by kind: prompt or completion.", ["kind"]
)
LLM_COST = Counter("llm_cost_usd_total", "LLM cost in US dollars as reported by OpenRouter.")
BREAKER_STATE = Gauge(
    "circuit_breaker_state",
    "Circuit breaker state: 0 closed, 1 open, 2 half-open.",
    ["breaker"],
    multiprocess_mode="livemostrecent",
)
OUTBOUND_REQUESTS = Counter(
    "outbound_requests_total",
    "Outbound HTTP attempts by service (ServiceDesk, ServiceNow, Jira) and status code "
    "(or 'error' when no response arrived).",
    ["service", "status"],
)
OUTBOUND_RETRIES = Counter(
    "outbound_retries_total",
    "Outbound HTTP attempts that were retried, by service and status (or 'error').",
    ["service", "status"],
)

QUEUE_DEPTH = "enhancement_queue_depth"
OLDEST_PENDING = "enhancement_queue_oldest_pending_age_seconds"

BREAKER_STATES = {"closed": 0, "open": 1, "half-open": 2, "half_open": 2}

# Fallback reasons are free text (``OpenRouter API error: 503 Service Unavailable``); the label
# is the category so the series stay few.
_FALLBACK_CATEGORIES = (
    ("LLM synthesis disabled at run time", "disabled_runtime"),
    ("LLM synthesis disabled", "disabled"),
    ("OPENROUTER_API_KEY not set", "not_configured"),
    ("circuit breaker open", "breaker_open"),
    ("OpenRouter API error", "api_error"),
    ("OpenRouter API timeout", "timeout"),
    ("OpenRouter API unreachable", "unreachable"),
    ("OpenRouter returned malformed output", "malformed"),
)

# --- end of enhancement service metrics ------------------------------------------------------


def fallback_category(reason: str | None) -> str:
    """The ``reason`` label for a fallback reason string."""
    for prefix, category in _FALLBACK_CATEGORIES:
        if reason and reason.startswith(prefix):
            return category
    return "other"


def set_breaker_state(name: str, state: str) -> None:
    """Publish a breaker's state (``closed``, ``open``, ``half-open``)."""
    BREAKER_STATE.labels(breaker=name).set(BREAKER_STATES.get(state, 0))


def record_outbound(service: str, status: int | None, *, retried: bool) -> None:
    """Count one outbound attempt (``status`` None: no response) and whether it is retried."""
    label = str(status) if status is not None else "error"
    OUTBOUND_REQUESTS.labels(service=service, status=label).inc()
    if retried:
        OUTBOUND_RETRIES.labels(service=service, status=label).inc()


def queue_families(depth: Mapping[str, int], oldest_pending_age: float | None) -> list[Metric]:
    """Scrape-time queue gauges from counts by status and the oldest pending job's age."""
    depth_family = GaugeMetricFamily(
        QUEUE_DEPTH,
        "Jobs in enhancement_history by live status (pending, processing).",
        labels=["status"],
    )
    for status in ("pending", "processing"):
        depth_family.add_metric([status], float(depth.get(status, 0)))
    age = GaugeMetricFamily(
        OLDEST_PENDING,
        "Age in seconds of the oldest pending job (0 when none is pending).",
        value=float(oldest_pending_age or 0.0),
    )
    return [depth_family, age]


class _Fixed(Collector):
    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterator[Metric]:
        yield from self._families


def render(multiproc_dir: Path | None, extra: Iterable[Metric] = ()) -> bytes:
    """The Prometheus text exposition of every metric, plus the scrape-time ``extra`` families.

    Args:
        multiproc_dir: ``PROMETHEUS_MULTIPROC_DIR``; when set, the samples of every process
            writing there are aggregated instead of this process's in-memory registry.
        extra: Families computed for this scrape (queue depth).
    """
    if multiproc_dir is not None:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(multiproc_dir))  # type: ignore[no-untyped-call]
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    fixed = CollectorRegistry()
    fixed.register(_Fixed(extra))
    return body + generate_latest(fixed)


def mark_process_dead(multiproc_dir: Path | None, pid: int | None = None) -> None:
    """Drop a finished process's live gauges (call from worker shutdown hooks)."""
    if multiproc_dir is not None:
        multiprocess.mark_process_dead(pid or os.getpid(), path=str(multiproc_dir))  # type: ignore[no-untyped-call]


# --- outbound ITSM metrics (ServiceNow / Jira; owned by src/services/itsm) -------------------

_ITSM_CREATE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0)
# SLA targets run from 15 minutes (P1 acknowledge) to one week (P4 resolve).
_ITSM_SLA_BUCKETS = tuple(
    float(s) for s in (60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 259200, 604800)
)

ITSM_CREATIONS = Counter(
    "itsm_ticket_creation_total",
    "ITSM tickets we tried to create, by platform and outcome (success/failure).",
    ["platform", "outcome"],
)
ITSM_CREATION_DURATION = Histogram(
    "itsm_ticket_creation_duration_seconds",
    "Time to create an ITSM ticket, including retries, by platform.",
    ["platform"],
    buckets=_ITSM_CREATE_BUCKETS,
)
ITSM_RETRIES = Counter(
    "itsm_ticket_retry_attempts_total",
    "Retries (attempts after the first) made while creating ITSM tickets, by platform.",
    ["platform"],
)
ITSM_VALIDATION_ERRORS = Counter(
    "itsm_validation_errors_total",
    "Field problems that stopped an ITSM ticket before any call, by platform and field.",
    ["platform", "field"],
)
ITSM_TEMPLATE_ERRORS = Counter(
    "itsm_template_rendering_errors_total",
    "ITSM template renderings refused (missing or unknown variables), by template.",
    ["template_name"],
)
ITSM_TIME_TO_ACKNOWLEDGE = Histogram(
    "itsm_ticket_time_to_acknowledge_seconds",
    "Seconds from ITSM ticket creation to its first move out of New, by platform and priority.",
    ["platform", "priority"],
    buckets=_ITSM_SLA_BUCKETS,
)
ITSM_TIME_TO_RESOLVE = Histogram(
    "itsm_ticket_time_to_resolve_seconds",
    "Seconds from ITSM ticket creation to resolution, by platform and priority.",
    ["platform", "priority"],
    buckets=_ITSM_SLA_BUCKETS,
)

# --- end of outbound ITSM metrics ------------------------------------------------------------
