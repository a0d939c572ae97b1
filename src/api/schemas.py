"""Request and response bodies of the public API."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from src.errors import FieldError, ValidationFailed

TICKET_ID_PATTERN = re.compile(r"^[0-9]{1,20}$")  # SDP request ids are numeric strings
_ID_PATHS = (("request", "id"), ("ticket_id",), ("id",))


def parse_webhook_ticket_id(body: bytes) -> str:
    """The SDP request id in an admin-templated payload: ``request.id``, ``ticket_id``, ``id``."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationFailed(
            [FieldError("body", "invalid_json", f"body is not JSON: {exc}")]
        ) from exc
    if not isinstance(payload, dict):
        raise ValidationFailed([FieldError("body", "not_an_object", "body must be a JSON object")])
    for path in _ID_PATHS:
        value: Any = payload
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            continue
        field = ".".join(path)
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValidationFailed(
                [FieldError(field, "invalid_type", "must be a string or integer")]
            )
        ticket_id = str(value).strip()
        if not TICKET_ID_PATTERN.match(ticket_id):
            raise ValidationFailed(
                [FieldError(field, "invalid", "must be an SDP request id (1-20 digits)")]
            )
        return ticket_id
    raise ValidationFailed(
        [
            FieldError(
                "request.id",
                "missing",
                "payload needs the request id at request.id, ticket_id or id",
            )
        ]
    )


class JobAccepted(BaseModel):
    """Answer to a webhook: the job that will (or already did) enhance the ticket."""

    job_id: str
    correlation_id: str
    status: str


class EnhancementView(BaseModel):
    """One ``enhancement_history`` row as the admin API shows it."""

    job_id: str
    correlation_id: str
    tenant_id: str
    ticket_id: str
    status: str
    attempts: int
    error_message: str | None
    context_nodes_success: int | None
    context_nodes_failed: int | None
    ticket_search_time_ms: int | None
    kb_search_time_ms: int | None
    ip_lookup_time_ms: int | None
    context_time_ms: int | None
    synthesis_time_ms: int | None
    writeback_time_ms: int | None
    total_time_ms: int | None
    node_details: dict[str, Any] | None
    used_fallback: bool | None
    fallback_reason: str | None
    llm_model: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cost: float | None
    sdp_note_id: str | None
    enhancement: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None

    model_config = {"from_attributes": True}
