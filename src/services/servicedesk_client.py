"""The ServiceDesk Plus v3 client: read requests and notes, add a private note.

Every call goes through the shared retry policy (``src.services.http``); HTTP failures and SDP
``response_status`` failures (also inside an HTTP 200) leave as ``src.errors`` exceptions.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from src.config import load_settings
from src.errors import ExternalServiceError, FieldError, ValidationFailed
from src.services.http import (
    RetryPolicy,
    Sleep,
    make_http_client,
    parse_retry_after,
    raise_for_status,
    send_with_retry,
)
from src.services.servicedesk_models import (
    JSON,
    SDPNote,
    SDPRequest,
    failed_messages,
    parse_note,
    parse_request,
    sdp_error,
)

__all__ = [
    "SDPCredentials",
    "SDPNote",
    "SDPRequest",
    "ServiceDeskClient",
    "ticket_web_url",
    "update_ticket_with_enhancement",
]

SERVICE = "ServiceDesk"
ACCEPT = "application/vnd.manageengine.sdp.v3+json"
PAGE_SIZE = 100
AuthScheme = Literal["onprem", "cloud"]

_TICKET_ID = re.compile(r"\d{1,30}")
_CORRELATION_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


@dataclass(frozen=True)
class SDPCredentials:
    """Where and how to reach one SDP instance.

    Attributes:
        base_url: Site root, e.g. ``https://sdp.example.com:8080`` (a trailing ``/api/v3`` is
            tolerated).
        api_key: On-prem technician key, or a cloud Zoho OAuth access token.
        auth_scheme: ``"onprem"`` sends ``authtoken``; ``"cloud"`` sends
            ``Authorization: Zoho-oauthtoken``.
    """

    base_url: str
    api_key: str = field(repr=False)
    auth_scheme: AuthScheme = "onprem"

    @property
    def site_root(self) -> str:
        """``base_url`` without trailing slash or ``/api/v3``."""
        root = self.base_url.rstrip("/")
        return root.removesuffix("/api/v3")

    def headers(self) -> dict[str, str]:
        """Accept and authentication headers for every call."""
        if self.auth_scheme == "cloud":
            return {"Accept": ACCEPT, "Authorization": f"Zoho-oauthtoken {self.api_key}"}
        return {"Accept": ACCEPT, "authtoken": self.api_key}


def ticket_web_url(base_url: str, auth_scheme: str, ticket_id: str) -> str:
    """Link to the ticket in the SDP web UI (on-prem ``WorkOrder.do``, cloud ``/app/itdesk``)."""
    root = base_url.rstrip("/").removesuffix("/api/v3")
    if auth_scheme == "cloud":
        return f"{root}/app/itdesk/ui/requests/{ticket_id}/details"
    return f"{root}/WorkOrder.do?woMode=viewWO&woID={ticket_id}"


class ServiceDeskClient:
    """One SDP instance, over an injected ``httpx.AsyncClient`` the caller owns.

    Every method may raise the ``src.errors`` tree: ``ServiceTimeout``, ``RateLimited``,
    ``Unavailable`` after retries; ``AuthFailed``, ``RemoteNotFound``, ``Rejected`` at once;
    ``ExternalServiceError`` for a 2xx answer without the expected object;
    ``ValidationFailed`` for a malformed ticket id. ``sleep`` is the wait between retries,
    injectable so tests need not wait.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        creds: SDPCredentials,
        policy: RetryPolicy,
        *,
        correlation_id: str | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._http = http
        self._sleep = sleep
        self._creds = creds
        self._policy = policy
        self._api = f"{creds.site_root}/api/v3"
        self._headers = creds.headers()
        if correlation_id:
            self._headers["X-Correlation-ID"] = correlation_id

    async def get_request(self, ticket_id: str) -> SDPRequest:
        """Fetch one request by id."""
        body = await self._call("GET", self._request_path(ticket_id))
        return parse_request(_obj(body.get("request"), "request"))

    async def list_notes(self, ticket_id: str) -> list[SDPNote]:
        """All notes of a request, oldest first as SDP returns them, 100 per page."""
        path = f"{self._request_path(ticket_id)}/notes"
        notes: list[SDPNote] = []
        start = 1
        while True:
            list_info = {"list_info": {"row_count": PAGE_SIZE, "start_index": start}}
            body = await self._call("GET", path, params={"input_data": json.dumps(list_info)})
            page = body.get("notes", body.get("request_notes")) or []
            notes.extend(parse_note(item) for item in page if isinstance(item, dict))
            more = isinstance(body.get("list_info"), dict) and body["list_info"].get(
                "has_more_rows"
            )
            if not more or not page:
                return notes
            start += len(page)

    async def add_note(self, ticket_id: str, description_html: str) -> SDPNote:
        """Add a private note (hidden from the requester, no notifications, not a response).

        Not retried after failures the server may have acted on (e.g. a read timeout), so a
        note is never posted twice by this layer; callers that retry use
        :meth:`find_note_containing` first.
        """
        note: JSON = {
            "description": description_html,
            "show_to_requester": False,
            "mark_first_response": False,
        }
        if self._creds.auth_scheme == "cloud":
            note["notify_technician"] = False
            payload = {"request_note": note}
        else:
            payload = {"note": note}
        body = await self._call(
            "POST",
            f"{self._request_path(ticket_id)}/notes",
            data={"input_data": json.dumps(payload)},
            idempotent=False,
        )
        created = body.get("note", body.get("request_note"))
        return parse_note(_obj(created, "note"))

    async def find_note_containing(self, ticket_id: str, marker: str) -> SDPNote | None:
        """The first note whose HTML contains ``marker``, or None."""
        for note in await self.list_notes(ticket_id):
            if marker in note.description_html:
                return note
        return None

    def _request_path(self, ticket_id: str) -> str:
        if not _TICKET_ID.fullmatch(ticket_id):
            raise ValidationFailed(
                [FieldError("ticket_id", "invalid", "must be the numeric SDP request id")]
            )
        return f"{self._api}/requests/{ticket_id}"

    async def _call(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
        idempotent: bool = True,
    ) -> JSON:
        async def send() -> httpx.Response:
            return await self._http.request(
                method, url, params=params, data=data, headers=self._headers
            )

        outcome = await send_with_retry(
            send,
            policy=self._policy,
            service=SERVICE,
            classify=_classify,
            idempotent=idempotent,
            sleep=self._sleep,
        )
        return _json(outcome.response)


def _json(response: httpx.Response) -> JSON:
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    return body if isinstance(body, dict) else {}


def _obj(value: object, key: str) -> JSON:
    if not isinstance(value, dict):
        raise ExternalServiceError(
            f"{SERVICE} API returned an unexpected response: no '{key}' object", service=SERVICE
        )
    return value


def _classify(response: httpx.Response) -> None:
    """Raise for HTTP failures and for SDP ``response_status`` failures (even in an HTTP 200)."""
    messages = failed_messages(_json(response))
    if messages is None:
        raise_for_status(response, SERVICE)
        return
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    error = sdp_error(
        messages, service=SERVICE, http_status=response.status_code, retry_after=retry_after
    )
    try:
        response.raise_for_status()
    except httpx.HTTPStatusError as exc:
        raise error from exc
    raise error


async def update_ticket_with_enhancement(
    base_url: str,
    api_key: str,
    ticket_id: str,
    enhancement: str,
    correlation_id: str,
    *,
    auth_scheme: str = "onprem",
) -> str:
    """Runbook entry point: post ``enhancement`` as a private note once per correlation id.

    Uses default settings (``load_settings()``) for timeouts, retries and TLS. If a note
    containing ``correlation_id`` already exists its id is returned and nothing is posted;
    otherwise the note (with a visible reference line carrying the correlation id, unless the
    text already contains it) is added and its id returned. Safe to run again after a failure::

        asyncio.run(update_ticket_with_enhancement(url, key, "1234", html, "job-42"))
    """
    scheme = _auth_scheme(auth_scheme)
    if not _CORRELATION_ID.fullmatch(correlation_id):
        raise ValidationFailed(
            [FieldError("correlation_id", "invalid", "use 1-128 letters, digits or . _ : -")]
        )
    settings = load_settings()
    creds = SDPCredentials(base_url=base_url, api_key=api_key, auth_scheme=scheme)
    async with make_http_client(
        timeout=settings.sdp_timeout_seconds, verify=settings.verify_ssl
    ) as http:
        client = ServiceDeskClient(
            http, creds, RetryPolicy.from_settings(settings), correlation_id=correlation_id
        )
        existing = await client.find_note_containing(ticket_id, correlation_id)
        if existing is not None:
            return existing.id
        if correlation_id not in enhancement:
            enhancement += f"<p><small>Enhancer reference: {correlation_id}</small></p>"
        note = await client.add_note(ticket_id, enhancement)
        return note.id


def _auth_scheme(value: str) -> AuthScheme:
    if value == "onprem":
        return "onprem"
    if value == "cloud":
        return "cloud"
    raise ValidationFailed([FieldError("auth_scheme", "invalid", "must be 'onprem' or 'cloud'")])
