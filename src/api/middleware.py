"""Pure-ASGI middleware: correlation ID on every request and in every log line.

``X-Correlation-ID`` is taken from the request when it looks sane (8-64 of ``[A-Za-z0-9._-]``)
or generated, bound into structlog's context for the request, and echoed on the response. A
route may replace it (the webhook binds the job's ID) through ``request.state.correlation_id``.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "x-correlation-id"
_VALID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def incoming_correlation_id(scope: Scope) -> str:
    """The request's correlation ID if it is well-formed, else a new UUID."""
    for name, value in scope.get("headers", []):
        if name.decode("latin-1").lower() == HEADER:
            candidate = str(value.decode("latin-1"))
            if _VALID.match(candidate):
                return candidate
    return str(uuid.uuid4())


class CorrelationIdMiddleware:
    """Bind ``correlation_id`` for the request and echo it as ``X-Correlation-ID``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cid = incoming_correlation_id(scope)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["correlation_id"] = cid

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                final = str(state.get("correlation_id", cid))
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() != b"x-correlation-id"
                ]
                headers.append((b"x-correlation-id", final.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        structlog.contextvars.clear_contextvars()
        with structlog.contextvars.bound_contextvars(correlation_id=cid, path=scope["path"]):
            await self.app(scope, receive, send_with_header)
