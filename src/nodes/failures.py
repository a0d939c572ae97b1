"""Turning an outside service's error into the job's ``JobFailure``."""

from __future__ import annotations

from src.errors import ExternalServiceError, RateLimited, RetryableError
from src.graph.state import JobFailure


def failure_from(phase: str, exc: ExternalServiceError) -> JobFailure:
    """Retryable errors (timeouts, 429, 5xx) retry the job; the rest fail it."""
    retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
    return JobFailure(phase, str(exc), isinstance(exc, RetryableError), retry_after)
