"""The one retry policy for outbound HTTP (ServiceDesk now; ServiceNow and Jira reuse it).

Clients build their ``httpx.AsyncClient`` with :func:`make_http_client` and send every call
through :func:`send_with_retry`. Failures leave this module as the exception tree of
``src.errors``:

* transport errors and timeouts -> ``ServiceTimeout`` (retried)
* 429 -> ``RateLimited`` (retried, honouring ``Retry-After``)
* 5xx -> ``Unavailable`` (retried)
* 401/403 -> ``AuthFailed``, 404 -> ``RemoteNotFound``, any other status -> ``Rejected``
  (raised at once, never retried)

This layer only absorbs quick transient failures. A ``Retry-After`` longer than
``max_delay`` is not slept through: ``RateLimited`` is raised with ``retry_after`` so the job
layer can reschedule instead of holding a worker.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

import httpx

from src.errors import (
    AuthFailed,
    ExternalServiceError,
    PermanentError,
    RateLimited,
    Rejected,
    RemoteNotFound,
    RetryableError,
    ServiceTimeout,
    Unavailable,
)
from src.logging import get_logger
from src.observability.metrics import record_outbound
from src.services.aiohttp_transport import AiohttpTransport

if TYPE_CHECKING:
    from src.config import Settings

MAX_CONNECT_TIMEOUT_S = 10.0

Send = Callable[[], Awaitable[httpx.Response]]
Classify = Callable[[httpx.Response], None]
Sleep = Callable[[float], Awaitable[None]]

_log = get_logger(__name__)

# Failures after which the server cannot have acted on the request, so even a POST may be
# sent again without risk of doing it twice.
_NOT_DELIVERED = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_NOT_PROCESSED_STATUS = frozenset({429, 503})


def make_http_client(
    *, timeout: float, verify: bool = True, max_connections: int = 200
) -> httpx.AsyncClient:
    """Build the shared client: timeouts always set, connection limits, TLS verified by default.

    Args:
        timeout: Read/write/pool timeout in seconds; connecting is capped at 10 s.
        verify: Verify TLS certificates; only turn off for a lab server.
        max_connections: Upper bound on open connections across all hosts.

    Returns:
        An ``httpx.AsyncClient`` the caller owns and must close.
    """
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, MAX_CONNECT_TIMEOUT_S)),
        verify=verify,
        # aiohttp's pool (see ``aiohttp_transport``); it keeps every connection open: a worker
        # talks to few hosts with many calls at once.
        transport=AiohttpTransport(verify=verify, max_connections=max_connections),
        follow_redirects=False,
    )


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait between attempts.

    Attributes:
        max_retries: Retries after the first attempt (0 means a single attempt).
        base_delay: Delay in seconds before the first retry, multiplied by ``backoff`` on
            each further one.
        max_delay: Cap on any single delay; a longer ``Retry-After`` gives up instead.
        jitter: Spread delays randomly over ``[delay/2, delay]`` so clients do not stampede.
        backoff: Growth factor between consecutive delays (2 doubles them).
    """

    max_retries: int
    base_delay: float
    max_delay: float
    jitter: bool = True
    backoff: float = 2.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        """Policy from the ``SDP_MAX_RETRIES`` / ``SDP_RETRY_*`` settings."""
        return cls(
            max_retries=settings.sdp_max_retries,
            base_delay=settings.sdp_retry_base_delay,
            max_delay=settings.sdp_retry_max_delay,
        )

    @classmethod
    def from_itsm_settings(cls, settings: Settings) -> RetryPolicy:
        """Policy from ``ITSM_MAX_RETRIES`` / ``ITSM_RETRY_DELAY`` / ``ITSM_RETRY_BACKOFF``."""
        return cls(
            max_retries=settings.itsm_max_retries,
            base_delay=settings.itsm_retry_delay,
            max_delay=settings.itsm_retry_max_delay,
            backoff=settings.itsm_retry_backoff,
        )

    def delay_for(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based).

        A server's ``retry_after`` is returned as is, even above ``max_delay``; callers check
        :meth:`too_long` first. Otherwise the delay is exponential, capped at ``max_delay``.
        """
        if retry_after is not None:
            return max(retry_after, 0.0)
        delay: float = min(self.max_delay, self.base_delay * self.backoff ** max(attempt - 1, 0))
        if self.jitter:
            delay *= random.uniform(0.5, 1.0)
        return delay

    def too_long(self, retry_after: float | None) -> bool:
        """True when the server asks us to wait longer than this layer is willing to."""
        return retry_after is not None and retry_after > self.max_delay


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP-date); None if absent/bad.

    A date in the past gives 0.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max((when - current).total_seconds(), 0.0)


def http_error(
    response: httpx.Response, service: str, detail: str | None = None
) -> ExternalServiceError | None:
    """The error for a non-2xx ``response`` (see :func:`error_for_status`), or None on success."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    return error_for_status(status, service=service, detail=detail, retry_after=retry_after)


def error_for_status(
    status: int, *, service: str, detail: str | None = None, retry_after: float | None = None
) -> ExternalServiceError:
    """The error-tree exception for HTTP ``status``.

    The message is ``"{service} API returned {status} {reason}"`` (plus ``": {detail}"``);
    operators search for these exact strings in the runbook. ``retry_after`` is kept on
    ``RateLimited`` only.
    """
    message = status_message(service, status, detail)
    if status == 429:
        return RateLimited(message, service=service, status_code=status, retry_after=retry_after)
    if status >= 500:
        return Unavailable(message, service=service, status_code=status)
    if status in (401, 403):
        return AuthFailed(message, service=service, status_code=status)
    if status == 404:
        return RemoteNotFound(message, service=service, status_code=status)
    return Rejected(message, service=service, status_code=status)


def status_message(service: str, status: int, detail: str | None = None) -> str:
    """``"{service} API returned {status} {reason}"``, with ``": {detail}"`` when given."""
    reason = httpx.codes.get_reason_phrase(status) or "Unknown Status"
    message = f"{service} API returned {status} {reason}"
    return f"{message}: {detail}" if detail else message


def raise_for_status(response: httpx.Response, service: str) -> None:
    """Default ``classify``: raise :func:`http_error` for any non-2xx response."""
    error = http_error(response, service)
    if error is None:
        return
    try:
        response.raise_for_status()
    except httpx.HTTPStatusError as exc:
        raise error from exc
    raise error  # 1xx/3xx: httpx does not consider these errors


@dataclass(frozen=True)
class RetryOutcome:
    """A successful response and how much it took to get it.

    Attributes:
        response: The response ``classify`` accepted.
        attempts: Calls made, including the successful one.
        total_delay_s: Seconds slept between attempts.
        last_error: The failure that preceded success, if any.
    """

    response: httpx.Response
    attempts: int
    total_delay_s: float
    last_error: ExternalServiceError | None


async def send_with_retry(
    send: Send,
    *,
    policy: RetryPolicy,
    service: str,
    classify: Classify | None = None,
    idempotent: bool = True,
    sleep: Sleep = asyncio.sleep,
) -> RetryOutcome:
    """Call ``send`` until it succeeds, a permanent error occurs or retries run out.

    Args:
        send: Makes one HTTP call; called once per attempt.
        policy: Retry counts and delays.
        service: Human service name used in messages and logs, e.g. ``"ServiceDesk"``.
        classify: Raises an ``ExternalServiceError`` for a failed response and returns for a
            good one; defaults to :func:`raise_for_status`.
        idempotent: When False (e.g. creating a note), only failures where the server cannot
            have acted (connect errors, 429, 503) are retried; others raise at once.
        sleep: Awaitable sleep, injectable so tests need not wait.

    Returns:
        The accepted response with attempt metadata.

    Raises:
        ServiceTimeout: Transport failure or timeout on the last attempt.
        RateLimited: 429 on the last attempt, or a ``Retry-After`` above ``max_delay``.
        Unavailable: 5xx on the last attempt.
        PermanentError: Any other failure, on the first attempt it occurs.

        Every raised error carries ``attempts`` and ``retry_delay_s``, so a caller can report
        how hard it tried.
    """
    check = classify or (lambda response: raise_for_status(response, service))
    attempt = 0
    total_delay = 0.0
    last_error: RetryableError | None = None
    while True:
        attempt += 1
        try:
            response = await _attempt(send, check, service)
        except PermanentError as exc:
            exc.attempts, exc.retry_delay_s = attempt, total_delay
            record_outbound(service, exc.status_code, retried=False)
            raise
        except RetryableError as exc:
            last_error = exc
            retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
            out_of_attempts = attempt > policy.max_retries or policy.too_long(retry_after)
            if out_of_attempts or not (idempotent or _not_processed(exc)):
                exc.attempts, exc.retry_delay_s = attempt, total_delay
                record_outbound(service, exc.status_code, retried=False)
                raise
            delay = policy.delay_for(attempt, retry_after)
        else:
            record_outbound(service, response.status_code, retried=False)
            return RetryOutcome(response, attempt, total_delay, last_error)
        record_outbound(service, last_error.status_code, retried=True)
        _log.warning(
            "http_retry",
            service=service,
            attempt=attempt,
            status=last_error.status_code,
            delay=round(delay, 3),
            error=str(last_error),
        )
        await sleep(delay)
        total_delay += delay


async def _attempt(send: Send, check: Classify, service: str) -> httpx.Response:
    """One call, translated into the error tree; returns the response ``check`` accepted."""
    started = time.monotonic()
    try:
        response = await send()
    except httpx.TimeoutException as exc:
        seconds = _configured_timeout(exc, time.monotonic() - started)
        raise ServiceTimeout(
            f"{service} API timed out after {seconds:g}s", service=service
        ) from exc
    except httpx.TransportError as exc:
        detail = str(exc) or type(exc).__name__
        raise ServiceTimeout(f"{service} API unreachable: {detail}", service=service) from exc
    check(response)
    return response


def _not_processed(error: RetryableError) -> bool:
    """True when the server cannot have acted on the request that failed with ``error``."""
    return isinstance(error.__cause__, _NOT_DELIVERED) or error.status_code in _NOT_PROCESSED_STATUS


def _configured_timeout(exc: httpx.TimeoutException, elapsed: float) -> float:
    """The timeout that fired, read from the request; the elapsed time if unknown."""
    kind = {
        httpx.ConnectTimeout: "connect",
        httpx.ReadTimeout: "read",
        httpx.WriteTimeout: "write",
        httpx.PoolTimeout: "pool",
    }.get(type(exc))
    try:
        timeouts = exc.request.extensions.get("timeout", {})
    except RuntimeError:  # exception raised without a request attached
        return round(elapsed, 1)
    value = timeouts.get(kind) if kind else None
    return float(value) if isinstance(value, int | float) else round(elapsed, 1)
