"""Typed views of ServiceDesk Plus v3 payloads and of its ``response_status`` errors.

SDP v3 sends ids and epoch times as strings, dates as ``{"value", "display_value"}`` and
reference fields (status, priority, ...) as ``{"id", "name"}`` objects or ``null``. Notes come
as ``note`` (current on-prem format, ``added_*``) or ``request_note`` (cloud and older
on-prem, ``created_*``); both are read here so callers never see the difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from src.errors import ExternalServiceError
from src.services.http import error_for_status

JSON = dict[str, Any]


@dataclass(frozen=True)
class SDPRequest:
    """One ServiceDesk request (ticket); reference fields are reduced to their names."""

    id: str
    display_id: str | None
    subject: str
    description_html: str | None
    status: str | None
    priority: str | None
    category: str | None
    requester: str | None
    created_time: str | None
    resolution: str | None


@dataclass(frozen=True)
class SDPNote:
    """One note on a request; ``added_time`` is epoch milliseconds as a string."""

    id: str
    description_html: str
    show_to_requester: bool
    added_time: str | None
    added_by: str | None


def _obj(value: object) -> JSON:
    return value if isinstance(value, dict) else {}


def _str(value: object) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)


def _name(value: object) -> str | None:
    return _str(_obj(value).get("name"))


def _epoch(value: object) -> str | None:
    """``{"value": "...", ...}`` or a bare epoch string -> the epoch-ms string."""
    return _str(value.get("value")) if isinstance(value, dict) else _str(value)


def parse_request(data: JSON) -> SDPRequest:
    """Build an :class:`SDPRequest` from the ``request`` object of a GET response."""
    requester = _obj(data.get("requester"))
    return SDPRequest(
        id=str(data["id"]),
        display_id=_str(data.get("display_id")),
        subject=_str(data.get("subject")) or "",
        description_html=_str(data.get("description")),
        status=_name(data.get("status")),
        priority=_name(data.get("priority")),
        category=_name(data.get("category")),
        requester=_str(requester.get("name")) or _str(requester.get("email_id")),
        created_time=_epoch(data.get("created_time")),
        resolution=_str(_obj(data.get("resolution")).get("content")),
    )


def parse_note(data: JSON) -> SDPNote:
    """Build an :class:`SDPNote` from a ``note`` or ``request_note`` object."""
    return SDPNote(
        id=str(data["id"]),
        description_html=_str(data.get("description")) or "",
        show_to_requester=bool(data.get("show_to_requester", False)),
        added_time=_epoch(data.get("added_time") or data.get("created_time")),
        added_by=_name(data.get("added_by") or data.get("created_by")),
    )


# SDP message status_code -> (HTTP status it stands for, fixed detail for the message).
_KNOWN_CODES: dict[int, tuple[int, str]] = {
    4002: (403, "Not allowed for this user"),
    4004: (500, "Internal error"),
    4007: (404, "Resource not found"),
    4015: (429, "API rate limit reached"),
    4022: (401, "Invalid API key"),
}


def failed_messages(body: object) -> list[JSON] | None:
    """The ``messages`` of a failed ``response_status``; None when the body is not a failure.

    ``response_status`` may be an object or (approvals endpoint) a list of objects.
    """
    status = _obj(body).get("response_status")
    statuses = status if isinstance(status, list) else [status]
    failed = [
        s
        for s in statuses
        if isinstance(s, dict) and (s.get("status") == "failed" or _code(s) not in (None, 2000))
    ]
    if not failed:
        return None
    messages = [m for s in failed for m in s.get("messages") or [] if isinstance(m, dict)]
    return messages or [{"status_code": _code(failed[0])}]


def _code(item: JSON) -> int | None:
    try:
        return int(item["status_code"])
    except (KeyError, TypeError, ValueError):
        return None


def sdp_error(
    messages: list[JSON], *, service: str, http_status: int, retry_after: float | None
) -> ExternalServiceError:
    """Translate SDP failure ``messages`` into the error tree.

    A known message code (4002, 4004, 4007, 4015, 4022) sets the status, e.g. ``"ServiceDesk
    API returned 401 Unauthorized: Invalid API key"``. Any other code keeps the HTTP status
    (400 when SDP failed inside an HTTP 200) and quotes SDP's message and field, e.g.
    ``"... 400 Bad Request: Given field is not editable (field is_trashed, SDP 4009)"``.
    """
    for message in messages:
        known = _KNOWN_CODES.get(_code(message) or 0)
        if known is not None:
            status, detail = known
            return error_for_status(status, service=service, detail=detail, retry_after=retry_after)
    first = messages[0]
    detail = _str(first.get("message")) or "request failed"
    extras = [f"field {first['field']}"] if first.get("field") else []
    if _code(first) is not None:
        extras.append(f"SDP {_code(first)}")
    if extras:
        detail = f"{detail} ({', '.join(extras)})"
    status = http_status if http_status >= 400 else 400
    return error_for_status(status, service=service, detail=detail, retry_after=retry_after)
