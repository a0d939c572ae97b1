"""One ITSM HTTP call through the shared retry policy, under an overall time budget."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from src.errors import ServiceTimeout, Unavailable
from src.services.http import Classify, RetryOutcome, RetryPolicy, Send, Sleep, send_with_retry

# Health checks ask once, quickly: reachability, not persistence.
PING_POLICY = RetryPolicy(max_retries=0, base_delay=0.0, max_delay=0.0, jitter=False)
PING_TIMEOUT_S = 10.0


async def call(
    send: Send,
    *,
    service: str,
    policy: RetryPolicy,
    classify: Classify,
    total_timeout: float,
    sleep: Sleep = asyncio.sleep,
) -> RetryOutcome:
    """``send_with_retry`` bounded by ``total_timeout`` seconds for all attempts together.

    Creation is sent as idempotent on purpose: the ITSM contract retries 500/502/504 too.
    """
    try:
        async with asyncio.timeout(total_timeout):
            return await send_with_retry(
                send, policy=policy, service=service, classify=classify, sleep=sleep
            )
    except TimeoutError as exc:
        raise ServiceTimeout(
            f"{service} API did not answer within the total timeout of {total_timeout:g}s",
            service=service,
        ) from exc


def json_object(response: httpx.Response, service: str) -> dict[str, Any]:
    """The response's JSON object; anything else is reported as the service unavailable."""
    try:
        body = response.json()
    except ValueError as exc:
        kind = response.headers.get("content-type", "unknown content")
        raise Unavailable(
            f"{service} API answered {response.status_code} with {kind} instead of JSON "
            "(instance asleep or a proxy page?)",
            service=service,
            status_code=response.status_code,
        ) from exc
    if not isinstance(body, dict):
        raise Unavailable(f"{service} API answered with unexpected JSON", service=service)
    return body


def text_detail(response: httpx.Response, limit: int = 200) -> str | None:
    """A short plain-text detail for error bodies that are not JSON."""
    text = response.text.strip()
    return text[:limit] if text else None
