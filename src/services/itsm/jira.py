"""Jira Cloud REST v3 client: create issues (ADF descriptions), read status, check reachability.

``POST /rest/api/3/issue`` with basic auth (account email + API token); 201 +
``{"id", "key", "self"}`` on success. Errors come back as ``{"errorMessages": [...],
"errors": {field: message}}``; a 400's field messages travel on ``Rejected.errors``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import datetime
from typing import Any

import httpx

from src.errors import FieldError, Rejected, Unavailable
from src.services.http import RetryOutcome, RetryPolicy, Send, Sleep, http_error
from src.services.itsm.calls import PING_POLICY, PING_TIMEOUT_S, call, json_object, text_detail
from src.services.itsm.sla import JIRA_ACKNOWLEDGED, JIRA_RESOLVED, jira_priority
from src.services.itsm.types import CreatedTicket, Payload, RemoteStatus

SERVICE = "Jira"
ISSUE = "/rest/api/3/issue"
_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}

ADF = dict[str, Any]


def adf_document(text: str) -> ADF:
    """Plain text as an Atlassian Document: blank lines split paragraphs, newlines break lines.

    ADF forbids empty text nodes, so empty lines inside a paragraph become plain breaks.
    """
    paragraphs: list[ADF] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        content: list[ADF] = []
        for index, line in enumerate(block.split("\n")):
            if index:
                content.append({"type": "hardBreak"})
            if line:
                content.append({"type": "text", "text": line})
        if any(node["type"] == "text" for node in content):
            paragraphs.append({"type": "paragraph", "content": content})
    return {"type": "doc", "version": 1, "content": paragraphs}


def issue_fields(payload: Payload) -> dict[str, Any]:
    """The v3 ``fields`` object from a validated flat payload."""
    fields: dict[str, Any] = {
        "project": {"key": payload["project"]},
        "summary": payload["summary"],
        "issuetype": {"name": payload["issuetype"]},
    }
    if payload.get("priority"):
        fields["priority"] = {"name": payload["priority"]}
    if payload.get("labels"):
        fields["labels"] = list(payload["labels"])  # type: ignore[call-overload]
    if isinstance(payload.get("description"), str) and payload["description"]:
        fields["description"] = adf_document(str(payload["description"]))
    return fields


def _error_body(response: httpx.Response) -> tuple[str | None, list[FieldError]]:
    try:
        body = response.json()
    except ValueError:
        return text_detail(response), []
    if not isinstance(body, dict):
        return None, []
    messages = [str(m) for m in body.get("errorMessages") or []]
    errors = body.get("errors") or {}
    field_errors = [
        FieldError(f"payload.{name}", "rejected_by_jira", str(message))
        for name, message in (errors.items() if isinstance(errors, dict) else [])
    ]
    parts = messages + [f"{e.field.removeprefix('payload.')}: {e.message}" for e in field_errors]
    return ("; ".join(parts) or None), field_errors


def _classify(response: httpx.Response) -> None:
    detail, field_errors = _error_body(response)
    error = http_error(response, SERVICE, detail)
    if error is None:
        return
    if isinstance(error, Rejected):
        error.errors = field_errors
    raise error


def parse_time(value: object) -> datetime | None:
    """Jira's ``2026-11-24T10:15:30.000+0000``; None when empty or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        return None


class JiraClient:
    """Issues on one Jira Cloud site, through an injected ``httpx.AsyncClient``."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        email: str,
        api_token: str,
        policy: RetryPolicy,
        total_timeout: float = 60.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._auth = httpx.BasicAuth(email, api_token)
        self._policy = policy
        self._total = total_timeout
        self._sleep = sleep

    async def _call(self, send: Send, *, once: bool = False) -> RetryOutcome:
        return await call(
            send,
            service=SERVICE,
            policy=PING_POLICY if once else self._policy,
            classify=_classify,
            total_timeout=min(self._total, PING_TIMEOUT_S) if once else self._total,
            sleep=self._sleep,
        )

    def _get(self, path: str, params: dict[str, str] | None = None) -> Send:
        def send() -> Awaitable[httpx.Response]:
            return self._http.get(
                self._base + path, params=params, headers=_HEADERS, auth=self._auth
            )

        return send

    async def create(self, payload: Payload) -> CreatedTicket:
        """Create an issue from a validated flat payload."""
        body = {"fields": issue_fields(payload)}

        def send() -> Awaitable[httpx.Response]:
            return self._http.post(self._base + ISSUE, json=body, headers=_HEADERS, auth=self._auth)

        outcome = await self._call(send)
        result = json_object(outcome.response, SERVICE)
        if not result.get("id") or not result.get("key"):
            raise Unavailable(
                f"{SERVICE} API answered without an issue id and key", service=SERVICE
            )
        key = str(result["key"])
        return CreatedTicket(
            external_id=str(result["id"]),
            key=key,
            url=f"{self._base}/browse/{key}",
            priority=jira_priority(payload.get("priority")),
            remote_state="new",
            attempts=outcome.attempts,
            retry_delay_s=outcome.total_delay_s,
            last_error=str(outcome.last_error) if outcome.last_error else None,
        )

    async def status(self, external_id: str) -> RemoteStatus:
        """The issue's status category (``new``/``indeterminate``/``done``)."""
        send = self._get(f"{ISSUE}/{external_id}", {"fields": "status,resolutiondate"})
        outcome = await self._call(send)
        fields = json_object(outcome.response, SERVICE).get("fields") or {}
        status = fields.get("status") or {}
        category = str((status.get("statusCategory") or {}).get("key", ""))
        resolved = category in JIRA_RESOLVED
        return RemoteStatus(
            state=category,
            acknowledged=category in JIRA_ACKNOWLEDGED,
            resolved=resolved,
            resolved_at=parse_time(fields.get("resolutiondate")) if resolved else None,
        )

    async def ping(self) -> None:
        """``GET /rest/api/3/myself``: proves the network path and the credentials."""
        await self._call(self._get("/rest/api/3/myself"), once=True)
