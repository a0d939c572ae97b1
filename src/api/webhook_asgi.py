"""The webhook answered at the ASGI level, in front of FastAPI's routing and middleware.

Intake is the one hot route: every SDP ticket event arrives here. Measured with
``bench/intake.py``, FastAPI's and Starlette's per-request machinery (middleware chain, request
and response objects, routing) cost ~130 µs of CPU per request on a small machine, more than
the webhook's own work. ``EnhancerApp`` answers ``POST /webhooks/servicedesk/{tenant_id}`` here
and hands every other request to FastAPI. The route is still declared in FastAPI so OpenAPI
documents it, and both call ``accept_webhook``.

What the middleware would do for this route is done here: the correlation ID (read, bound for
logging, echoed as ``X-Correlation-ID``), the request metrics, and error responses in the shape
of ``src.api.errors``.
"""

from __future__ import annotations

import re
import time
from typing import Any

import orjson
import structlog
from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from src.api.deps import AppState
from src.api.errors import error_body, known_error
from src.api.middleware import HEADER, incoming_correlation_id
from src.api.routes.webhooks import WEBHOOK_PATH, accept_webhook, body_too_large
from src.logging import get_logger
from src.observability.metrics import HTTP_DURATION, HTTP_REQUESTS

log = get_logger(__name__)

_PATH = re.compile(r"^/webhooks/servicedesk/([^/]+)$")
_DURATION = HTTP_DURATION.labels(method="POST", route=WEBHOOK_PATH)


def webhook_tenant(scope: Scope) -> str | None:
    """The tenant of a webhook delivery, or None for any other request."""
    if scope["type"] != "http" or scope.get("method") != "POST":
        return None
    match = _PATH.match(scope["path"])
    return match.group(1) if match else None


class _Disconnected(Exception):
    """The client went away before the body was complete."""


async def _read_body(headers: Headers, receive: Receive, limit: int) -> bytes:
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise body_too_large(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise body_too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send(
    send: Send,
    status: int,
    body: bytes,
    correlation_id: str,
    extra: dict[str, str] | None = None,
) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (HEADER.encode(), correlation_id.encode("latin-1")),
    ]
    for name, value in (extra or {}).items():
        headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def serve_webhook(
    state: AppState, tenant_id: str, scope: Scope, receive: Receive, send: Send
) -> None:
    """Answer one webhook delivery (the job as JSON, or an error)."""
    started = time.perf_counter()
    correlation_id = incoming_correlation_id(scope)
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(correlation_id=correlation_id, path=scope["path"])
    headers = Headers(scope=scope)
    status = 500
    try:
        try:
            body = await _read_body(headers, receive, state.settings.webhook_max_body_bytes)
            job, status = await accept_webhook(state, tenant_id, headers, body, correlation_id)
        except _Disconnected:
            status = 400  # nobody is left to read an answer
            return
        except Exception as exc:  # noqa: BLE001 - every failure becomes a JSON error response
            status, payload, extra = _error(exc)
            await _send(send, status, orjson.dumps(payload), correlation_id, extra)
            return
        await _send(send, status, job.model_dump_json().encode(), job.correlation_id)
    finally:
        HTTP_REQUESTS.labels(method="POST", route=WEBHOOK_PATH, status=str(status)).inc()
        _DURATION.observe(time.perf_counter() - started)
        structlog.contextvars.clear_contextvars()


def _error(exc: Exception) -> tuple[int, dict[str, Any], dict[str, str] | None]:
    mapped = known_error(exc)
    if mapped is not None:
        return mapped
    log.exception("webhook_failed", error=f"{type(exc).__name__}: {exc}"[:300])
    return 500, error_body("internal_error", "Internal server error; nothing was recorded"), None


class EnhancerApp(FastAPI):
    """FastAPI, with the webhook answered before FastAPI's own machinery (see module docs)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI call."""
        tenant_id = webhook_tenant(scope)
        if tenant_id is None:
            await super().__call__(scope, receive, send)
            return
        await serve_webhook(self.state.enhancer, tenant_id, scope, receive, send)
