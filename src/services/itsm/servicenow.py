"""ServiceNow Table API client: open incidents, read their state, check reachability.

``POST /api/now/table/incident`` with basic auth; 201 + ``{"result": {...}}`` on success.
Errors come back as ``{"error": {"message", "detail"}, "status": "failure"}`` and leave as
``src.errors`` exceptions carrying that text and the retry metadata.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime

import httpx

from src.errors import Unavailable
from src.services.http import RetryOutcome, RetryPolicy, Send, Sleep, http_error
from src.services.itsm.calls import PING_POLICY, PING_TIMEOUT_S, call, json_object, text_detail
from src.services.itsm.sla import SERVICENOW_ACKNOWLEDGED, SERVICENOW_RESOLVED, servicenow_priority
from src.services.itsm.types import CreatedTicket, Payload, RemoteStatus

SERVICE = "ServiceNow"
TABLE = "/api/now/table/incident"
_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}


def error_detail(response: httpx.Response) -> str | None:
    """``"message: detail"`` from ServiceNow's error body, or the start of a non-JSON body."""
    try:
        body = response.json()
    except ValueError:
        return text_detail(response)
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    parts = [str(error[k]) for k in ("message", "detail") if error.get(k)]
    return ": ".join(parts) or None


def _classify(response: httpx.Response) -> None:
    error = http_error(response, SERVICE, error_detail(response))
    if error is not None:
        raise error
    if "json" not in response.headers.get("content-type", ""):
        # A hibernating developer instance answers 200 with an HTML page.
        raise Unavailable(
            f"{SERVICE} API answered {response.status_code} with a non-JSON page "
            "(instance hibernating?)",
            service=SERVICE,
            status_code=response.status_code,
        )


def record_url(base_url: str, sys_id: str) -> str:
    """The incident form in the classic UI frame."""
    return f"{base_url}/nav_to.do?uri=incident.do?sys_id={sys_id}"


def parse_time(value: object) -> datetime | None:
    """ServiceNow's ``YYYY-MM-DD HH:MM:SS`` (UTC database value); None when empty."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


class ServiceNowClient:
    """Incidents on one instance, through an injected ``httpx.AsyncClient``."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        username: str,
        password: str,
        policy: RetryPolicy,
        total_timeout: float = 60.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._auth = httpx.BasicAuth(username, password)
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

    async def create(self, payload: Payload) -> CreatedTicket:
        """Open an incident from a validated payload."""
        url = self._base + TABLE

        def send() -> Awaitable[httpx.Response]:
            return self._http.post(
                url,
                json=payload,
                headers=_HEADERS,
                auth=self._auth,
                params={"sysparm_exclude_reference_link": "true"},
            )

        outcome = await self._call(send)
        result = json_object(outcome.response, SERVICE).get("result")
        if not isinstance(result, dict) or not result.get("sys_id"):
            raise Unavailable(f"{SERVICE} API answered without a result.sys_id", service=SERVICE)
        sys_id = str(result["sys_id"])
        return CreatedTicket(
            external_id=sys_id,
            key=str(result.get("number") or sys_id),
            url=record_url(self._base, sys_id),
            priority=servicenow_priority(result.get("priority")),
            remote_state=str(result["state"]) if result.get("state") is not None else None,
            attempts=outcome.attempts,
            retry_delay_s=outcome.total_delay_s,
            last_error=str(outcome.last_error) if outcome.last_error else None,
        )

    async def status(self, external_id: str) -> RemoteStatus:
        """The incident's ``state`` and resolution time."""
        url = f"{self._base}{TABLE}/{external_id}"
        params = {"sysparm_fields": "sys_id,state,resolved_at,closed_at"}

        def send() -> Awaitable[httpx.Response]:
            return self._http.get(url, params=params, headers=_HEADERS, auth=self._auth)

        outcome = await self._call(send)
        result = json_object(outcome.response, SERVICE).get("result")
        if not isinstance(result, dict):
            raise Unavailable(f"{SERVICE} API answered without a result", service=SERVICE)
        state = str(result.get("state", ""))
        resolved = state in SERVICENOW_RESOLVED
        return RemoteStatus(
            state=state,
            acknowledged=state in SERVICENOW_ACKNOWLEDGED,
            resolved=resolved,
            resolved_at=(
                parse_time(result.get("resolved_at")) or parse_time(result.get("closed_at"))
            )
            if resolved
            else None,
        )

    async def ping(self) -> None:
        """Read one incident id: proves the network path, the credentials and the ACL."""
        url = self._base + TABLE
        params = {"sysparm_limit": "1", "sysparm_fields": "sys_id"}

        def send() -> Awaitable[httpx.Response]:
            return self._http.get(url, params=params, headers=_HEADERS, auth=self._auth)

        await self._call(send, once=True)
