"""A fake ServiceNow instance (Table API, incidents) on real HTTP for tests and the benchmark.

Endpoints: ``POST /api/now/table/incident``, ``GET /api/now/table/incident`` (list) and
``GET /api/now/table/incident/{sys_id}``. Basic auth against ``state.users``. Errors use
ServiceNow's body ``{"error": {"message", "detail"}, "status": "failure"}`` with the texts the
real instance sends. Priority is computed from impact x urgency like the default lookup rules.
``state.hibernating`` answers 200 with an HTML page, like a sleeping developer instance.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from tests.fakes.itsm_script import RecordedCall, ScriptState
from tests.fakes.server import serve_in_thread

USERNAME, PASSWORD = "enhancer.integration", "sn-password-0123"
TABLE = "/api/now/table/incident"

ERRORS: dict[int, tuple[str, str]] = {
    400: ("Exception while reading request", "The payload is not valid JSON."),
    401: ("User Not Authenticated", "Required to provide Auth information"),
    403: ("User Not Authorized", "Insufficient rights to insert into table incident"),
    404: ("No Record found", "Record doesn't exist or ACL restricts the record retrieval"),
    429: ("Rate limit exceeded", "Rate limit of 10 requests per hour for Table API exceeded"),
    500: ("Internal server error", "An unexpected error occurred"),
    503: ("Service Unavailable", "The instance is temporarily unavailable"),
}
# Default Priority Lookup Rules: (impact, urgency) -> priority.
_PRIORITY = {
    ("1", "1"): "1", ("1", "2"): "2", ("2", "1"): "2", ("1", "3"): "3", ("2", "2"): "3",
    ("3", "1"): "3", ("2", "3"): "4", ("3", "2"): "4", ("3", "3"): "5",
}  # fmt: skip


def error_body(status: int) -> dict[str, Any]:
    """ServiceNow's failure envelope for ``status``."""
    message, detail = ERRORS.get(status, ("Error", "Unexpected failure"))
    return {"error": {"message": message, "detail": detail}, "status": "failure"}


def sn_time(when: datetime) -> str:
    """ServiceNow's database datetime text (UTC)."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class FakeServiceNowState(ScriptState):
    """Incidents by sys_id plus the scripted behaviour."""

    users: dict[str, str] = field(default_factory=lambda: {USERNAME: PASSWORD})
    incidents: dict[str, dict[str, Any]] = field(default_factory=dict)
    hibernating: bool = False

    def set_state(self, sys_id: str, state: str, *, resolved_at: datetime | None = None) -> None:
        """Move an incident as a technician would (2 In Progress, 6 Resolved, ...)."""
        record = self.incidents[sys_id]
        record["state"] = record["incident_state"] = state
        if resolved_at is not None:
            record["resolved_at"] = sn_time(resolved_at)


def _authorised(state: FakeServiceNowState, request: Request) -> bool:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, password = base64.b64decode(value).decode().partition(":")
    except ValueError:
        return False
    return state.users.get(user) == password


def build_app(state: FakeServiceNowState) -> Starlette:
    """The fake's ASGI app, reading its behaviour from ``state`` on every request."""

    async def record(request: Request) -> Any:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = raw.decode(errors="replace")
        headers = {k.lower(): v for k, v in request.headers.items()}
        state.calls.append(RecordedCall(request.method, request.url.path, headers, body))
        if state.latency_seconds:
            await asyncio.sleep(state.latency_seconds)
        return body

    def error(status: int, retry_after: str | None = None) -> Response:
        headers = {"Retry-After": retry_after} if retry_after else None
        return JSONResponse(error_body(status), status_code=status, headers=headers)

    async def create(request: Request) -> Response:
        body = await record(request)
        if not _authorised(state, request):
            return error(401)
        if state.hibernating:
            return HTMLResponse("<html><body>Your instance is hibernating</body></html>")
        failure = state.next_failure()
        if failure is not None:
            return error(failure.status, failure.retry_after)
        if "json" not in request.headers.get("content-type", "") or not isinstance(body, dict):
            return error(400)
        sys_id = uuid.uuid4().hex
        impact, urgency = str(body.get("impact", "3")), str(body.get("urgency", "3"))
        now = datetime.now(UTC)
        record_ = {
            **{k: str(v) for k, v in body.items() if not k.startswith("sys_")},
            "sys_id": sys_id,
            "number": f"INC{10001 + len(state.incidents):07d}",
            "impact": impact,
            "urgency": urgency,
            "priority": _PRIORITY.get((impact, urgency), "5"),
            "state": "1",
            "incident_state": "1",
            "opened_at": sn_time(now),
            "sys_created_on": sn_time(now),
            "resolved_at": "",
            "closed_at": "",
        }
        state.incidents[sys_id] = record_
        return JSONResponse(
            {"result": record_},
            status_code=201,
            headers={"Location": f"{request.base_url}api/now/table/incident/{sys_id}"},
        )

    async def get_one(request: Request) -> Response:
        await record(request)
        if not _authorised(state, request):
            return error(401)
        incident = state.incidents.get(request.path_params["sys_id"])
        if incident is None:
            return error(404)
        fields = request.query_params.get("sysparm_fields")
        if fields:
            incident = {k: incident.get(k, "") for k in fields.split(",")}
        return JSONResponse({"result": incident})

    async def list_(request: Request) -> Response:
        await record(request)
        if not _authorised(state, request):
            return error(401)
        limit = int(request.query_params.get("sysparm_limit", "10000"))
        rows = list(state.incidents.values())[:limit]
        return JSONResponse({"result": rows})

    return Starlette(
        routes=[
            Route(TABLE, create, methods=["POST"]),
            Route(TABLE, list_, methods=["GET"]),
            Route(TABLE + "/{sys_id}", get_one, methods=["GET"]),
        ]
    )


@dataclass(frozen=True, slots=True)
class RunningServiceNow:
    """A started fake: ``base_url`` is what ``SERVICENOW_INSTANCE`` takes."""

    base_url: str
    state: FakeServiceNowState


@contextmanager
def running_servicenow(state: FakeServiceNowState | None = None) -> Iterator[RunningServiceNow]:
    """Start the fake on a free 127.0.0.1 port."""
    state = state or FakeServiceNowState()
    with serve_in_thread(build_app(state)) as url:
        yield RunningServiceNow(base_url=url, state=state)
