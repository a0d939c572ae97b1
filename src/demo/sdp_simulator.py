"""A real (in-memory) ServiceDesk Plus v3 subset server for ``enhancer demo`` and for tests.

Endpoints::

    GET  /api/v3/requests                  list (``input_data`` list_info paging)
    GET  /api/v3/requests/{id}             one request
    GET  /api/v3/requests/{id}/notes       notes (``input_data`` list_info paging)
    POST /api/v3/requests/{id}/notes       add a note; form field ``input_data`` holding
                                           ``{"note": {...}}`` or ``{"request_note": {...}}``

Auth accepts ``authtoken``, legacy ``TECHNICIAN_KEY`` or ``Authorization: Zoho-oauthtoken``
with a known key; anything else gets HTTP 401 with SDP error 4022. Unknown requests and paths
get 404 with SDP error 4007. Errors use SDP's envelope (``response_status`` 4000 + messages).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from src.demo.sdp_state import JSON, RecordedCall, ScriptedResponse, SDPSimulatorState

__all__ = [
    "DEFAULT_API_KEY",
    "RecordedCall",
    "SDPSimulatorState",
    "ScriptedResponse",
    "create_sdp_simulator",
    "sdp_error_body",
]

DEFAULT_API_KEY = "sdp-simulator-key"
MAX_ROWS = 100
_OK = {"status_code": 2000, "status": "success"}

Handler = Callable[[SDPSimulatorState, Request, JSON, str], Response]


def sdp_error_body(code: int, message: str, field: str | None = None) -> JSON:
    """SDP's failure envelope: ``response_status`` 4000 with one message of ``code``."""
    item: JSON = {"status_code": code, "type": "failed", "message": message}
    if field is not None:
        item["field"] = field
    return {"response_status": {"status_code": 4000, "status": "failed", "messages": [item]}}


def _error(status: int, code: int, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse(sdp_error_body(code, message, field), status_code=status)


def _not_found() -> JSONResponse:
    return _error(404, 4007, "Invalid URL or resource not found")


def _user_for(state: SDPSimulatorState, request: Request) -> str | None:
    headers = request.headers
    auth = headers.get("authorization", "")
    oauth = auth.removeprefix("Zoho-oauthtoken ").strip() if auth.startswith("Zoho-") else ""
    for key in (headers.get("authtoken"), headers.get("technician_key"), oauth):
        if key and key in state.api_keys:
            return state.api_keys[key]
    return None


def _int(value: object, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return default
    try:
        return int(value)
    except ValueError:
        return default


def _list_info(input_data: JSON) -> tuple[int, int]:
    """``(row_count, start_index)`` clamped to SDP's limits (at most 100 rows, 1-based)."""
    info = input_data.get("list_info")
    info = info if isinstance(info, dict) else {}
    rows = min(max(_int(info.get("row_count"), MAX_ROWS), 1), MAX_ROWS)
    return rows, max(_int(info.get("start_index"), 1), 1)


def _page(items: list[JSON], key: str, input_data: JSON) -> JSONResponse:
    rows, start = _list_info(input_data)
    page = items[start - 1 : start - 1 + rows]
    info = {
        "row_count": len(page),
        "start_index": start,
        "has_more_rows": start - 1 + rows < len(items),
    }
    return JSONResponse({key: page, "list_info": info, "response_status": _OK})


def _list_requests(state: SDPSimulatorState, request: Request, data: JSON, user: str) -> Response:
    return _page(state.list_requests(), "requests", data)


def _get_request(state: SDPSimulatorState, request: Request, data: JSON, user: str) -> Response:
    found = state.get_request(request.path_params["request_id"])
    if found is None:
        return _not_found()
    return JSONResponse({"request": found, "response_status": _OK})


def _list_notes(notes_key: str) -> Handler:
    def handler(state: SDPSimulatorState, request: Request, data: JSON, user: str) -> Response:
        request_id = request.path_params["request_id"]
        if state.get_request(request_id) is None:
            return _not_found()
        return _page(state.notes_for(request_id), notes_key, data)

    return handler


def _add_note(state: SDPSimulatorState, request: Request, data: JSON, user: str) -> Response:
    request_id = request.path_params["request_id"]
    if state.get_request(request_id) is None:
        return _not_found()
    key = "note" if "note" in data else "request_note"
    note = data.get(key)
    if not isinstance(note, dict):
        return _error(400, 4012, "Mandatory field 'note' is missing", "note")
    description = note.get("description")
    if not isinstance(description, str) or not description:
        return _error(400, 4012, "Value for the mandatory field is missing", "description")
    show = note.get("show_to_requester", False)
    if not isinstance(show, bool):
        return _error(400, 4021, "Data type mismatch", "show_to_requester")
    stored = state.add_note(request_id, description, author=user, show_to_requester=show)
    if key == "request_note":  # older format names the audit fields created_*
        stored["created_time"] = stored.pop("added_time")
        stored["created_by"] = stored.pop("added_by")
    return JSONResponse({key: stored, "response_status": _OK}, status_code=201)


def _scripted(scripted: ScriptedResponse) -> Response:
    if scripted.body is None:
        phrase = HTTPStatus(scripted.status).phrase
        return PlainTextResponse(phrase, scripted.status, headers=dict(scripted.headers))
    return JSONResponse(scripted.body, scripted.status, headers=dict(scripted.headers))


def _endpoint(state: SDPSimulatorState, handler: Handler) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        raw = (await request.body()).decode("utf-8", "replace")
        is_form = request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        )
        form = dict(parse_qsl(raw)) if is_form else {}
        call = RecordedCall(
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            headers={k.lower(): v for k, v in request.headers.items()},
            form=form,
        )
        state.record(call)
        if state.latency_s > 0:
            await asyncio.sleep(state.latency_s)
        scripted = state.take_scripted(call.method, call.path)
        if scripted is not None:
            return _scripted(scripted)
        user = _user_for(state, request)
        if user is None:
            return _error(401, 4022, "Invalid API key.")
        try:
            data = call.input_data()
        except json.JSONDecodeError:
            return _error(400, 4001, "input_data is not valid JSON", "input_data")
        return handler(state, request, data, user)

    return endpoint


def create_sdp_simulator(
    api_keys: Mapping[str, str] | None = None, *, notes_key: str = "notes"
) -> tuple[Starlette, SDPSimulatorState]:
    """Build the simulator app and the state that drives it.

    Args:
        api_keys: Accepted key -> technician name; defaults to ``DEFAULT_API_KEY`` ->
            ``"administrator"``.
        notes_key: Array key of the notes list (``"notes"``, or ``"request_notes"`` as older
            and cloud versions answer).

    Returns:
        ``(app, state)``: serve ``app`` with any ASGI server; seed and inspect via ``state``.
    """
    state = SDPSimulatorState(api_keys or {DEFAULT_API_KEY: "administrator"})
    base = "/api/v3/requests"
    routes = [
        Route(base, _endpoint(state, _list_requests), methods=["GET"]),
        Route(base + "/{request_id}", _endpoint(state, _get_request), methods=["GET"]),
        Route(
            base + "/{request_id}/notes", _endpoint(state, _list_notes(notes_key)), methods=["GET"]
        ),
        Route(base + "/{request_id}/notes", _endpoint(state, _add_note), methods=["POST"]),
        Route(
            "/{path:path}",
            _endpoint(state, lambda *_: _not_found()),
            methods=["GET", "POST", "PUT", "DELETE"],
        ),
    ]
    return Starlette(routes=routes), state
