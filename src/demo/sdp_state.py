"""In-memory state of the SDP simulator: tickets, notes, the call log and scripted failures.

Every method takes one lock, so a test thread may seed data, script failures and read the
call log while uvicorn serves requests from another thread.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

JSON = dict[str, Any]


@dataclass(frozen=True)
class RecordedCall:
    """One HTTP call the simulator received (header names are lower case)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    form: dict[str, str]

    def input_data(self) -> JSON:
        """The decoded ``input_data`` JSON from the form or the query string, or ``{}``."""
        raw = self.form.get("input_data") or self.query.get("input_data")
        decoded = json.loads(raw) if raw else {}
        return decoded if isinstance(decoded, dict) else {}


@dataclass(frozen=True)
class ScriptedResponse:
    """A canned answer for the next call whose method or path matches ``match``.

    Attributes:
        status: HTTP status to return.
        body: JSON body; None sends the reason phrase as plain text.
        headers: Extra response headers, e.g. ``Retry-After``.
        match: An HTTP method (``"POST"``) or a path substring; None matches any call.
    """

    status: int
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    match: str | None = None

    def matches(self, method: str, path: str) -> bool:
        """True when this response applies to ``method`` on ``path``."""
        return self.match is None or self.match.upper() == method or self.match in path


def sdp_time(epoch_ms: int) -> JSON:
    """SDP's date shape: ``{"value": "<epoch ms>", "display_value": "..."}``."""
    when = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    return {"value": str(epoch_ms), "display_value": when.strftime("%b %d, %Y %I:%M %p")}


def _ref(name: str | None, ref_id: str) -> JSON | None:
    return None if name is None else {"id": ref_id, "name": name}


class SDPSimulatorState:
    """Tickets, notes and test hooks of one simulator instance.

    Attributes:
        api_keys: Accepted API key -> technician name recorded as the note author.
        latency_s: Seconds every call waits before answering (for timeout tests).
    """

    def __init__(self, api_keys: Mapping[str, str]) -> None:
        self.api_keys = dict(api_keys)
        self.latency_s = 0.0
        self.autocreate = False  # answer any numeric id with a generated ticket (load tests)
        self._lock = threading.Lock()
        self._ids = itertools.count(1001)
        self._requests: dict[str, JSON] = {}
        self._notes: dict[str, list[JSON]] = {}
        self._calls: list[RecordedCall] = []
        self._script: list[ScriptedResponse] = []
        self._every: tuple[int, ScriptedResponse] | None = None
        self._every_count = 0

    def add_request(
        self,
        subject: str,
        *,
        request_id: str | None = None,
        description: str | None = None,
        status: str = "Open",
        priority: str | None = None,
        category: str | None = None,
        requester: str = "Alex Requester",
        requester_email: str | None = None,
        resolution: str | None = None,
        created_ms: int | None = None,
    ) -> str:
        """Seed a ticket and return its id (a numeric string)."""
        with self._lock:
            rid = request_id or str(next(self._ids))
            self._requests[rid] = {
                "id": rid,
                "display_id": rid,
                "subject": subject,
                "description": description,
                "status": _ref(status, "2"),
                "priority": _ref(priority, "3"),
                "category": _ref(category, "4"),
                "requester": {"id": "5", "name": requester, "email_id": requester_email},
                "created_time": sdp_time(created_ms or int(time.time() * 1000)),
                "resolution": {"content": resolution, "resolution_attachments": []},
                "has_notes": False,
            }
            self._notes.setdefault(rid, [])
            return rid

    def get_request(self, request_id: str) -> JSON | None:
        """A copy of the stored ticket, or None."""
        with self._lock:
            found = self._requests.get(request_id)
        if found is None and self.autocreate and request_id.isdigit():
            self.add_request(
                f"Generated ticket {request_id}: VPN drops for remote users",
                request_id=request_id,
                description="<p>Users behind 10.20.30.40 lose the VPN every few minutes.</p>",
            )
            return self.get_request(request_id)
        return dict(found) if found else None

    def list_requests(self) -> list[JSON]:
        """Copies of all tickets in id order."""
        with self._lock:
            return [dict(self._requests[k]) for k in sorted(self._requests, key=int)]

    def add_note(
        self, request_id: str, description: str, *, author: str, show_to_requester: bool = False
    ) -> JSON:
        """Store a note (current on-prem field names) and return a copy; KeyError if no ticket."""
        with self._lock:
            if request_id not in self._requests:
                raise KeyError(request_id)
            note = {
                "id": str(next(self._ids)),
                "description": description,
                "show_to_requester": show_to_requester,
                "added_time": sdp_time(int(time.time() * 1000)),
                "added_by": {"id": "1", "name": author},
                "request": {"id": request_id, "subject": self._requests[request_id]["subject"]},
            }
            self._notes[request_id].append(note)
            self._requests[request_id]["has_notes"] = True
            return dict(note)

    def notes_for(self, request_id: str) -> list[JSON]:
        """Copies of a ticket's notes, oldest first."""
        with self._lock:
            return [dict(n) for n in self._notes.get(request_id, [])]

    def fail_next(
        self,
        match: str | None,
        status: int,
        *,
        times: int = 1,
        retry_after: float | str | None = None,
        body: Any = None,
    ) -> None:
        """Answer the next ``times`` calls matching ``match`` with ``status`` (see ``script``)."""
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        self.script([ScriptedResponse(status, body, headers, match)] * times)

    def script(self, responses: Iterable[ScriptedResponse]) -> None:
        """Queue canned responses; each is used once, by the first call it matches."""
        with self._lock:
            self._script.extend(responses)

    def fail_every(self, n: int, status: int, *, retry_after: float | str | None = None) -> None:
        """Answer every ``n``-th call (of any kind) with ``status``, until ``n`` is 0."""
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        with self._lock:
            self._every = (n, ScriptedResponse(status, None, headers)) if n > 0 else None
            self._every_count = 0

    def take_scripted(self, method: str, path: str) -> ScriptedResponse | None:
        """Remove and return the first queued response matching the call, if any."""
        with self._lock:
            if self._every is not None:
                self._every_count += 1
                if self._every_count % self._every[0] == 0:
                    return self._every[1]
            for index, scripted in enumerate(self._script):
                if scripted.matches(method, path):
                    return self._script.pop(index)
            return None

    def record(self, call: RecordedCall) -> None:
        """Append to the call log."""
        with self._lock:
            self._calls.append(call)

    @property
    def calls(self) -> list[RecordedCall]:
        """A snapshot of every call received so far, in order."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str, path_contains: str = "") -> list[RecordedCall]:
        """Calls with ``method`` whose path contains ``path_contains``."""
        return [c for c in self.calls if c.method == method and path_contains in c.path]

    def clear_calls(self) -> None:
        """Forget the call log (seeded data and scripts are kept)."""
        with self._lock:
            self._calls.clear()
