"""A fake Jira Cloud site (REST v3 issues) on real HTTP for tests and the benchmark.

Endpoints: ``POST /rest/api/3/issue``, ``GET /rest/api/3/issue/{idOrKey}``,
``GET /rest/api/3/myself``. Basic auth with email + API token. Like Jira Cloud it refuses a
description that is not an Atlassian Document (``Operation value must be an Atlassian
Document``) and a summary over 255 characters, with the ``{"errorMessages", "errors"}`` body;
an unauthenticated call gets Jira's plain-text 401. :func:`adf_problems` checks ADF strictly
(doc/version 1, known block and inline nodes, no empty text) so tests can assert validity.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.fakes.itsm_script import RecordedCall, ScriptState
from tests.fakes.server import serve_in_thread

EMAIL, API_TOKEN = "svc-enhancer@example.com", "jira-api-token-0123"
ISSUE = "/rest/api/3/issue"
NOT_ADF = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
ISSUE_TYPES = {"Bug", "Task", "Story", "Incident", "Problem", "Service Request"}
PRIORITIES = {"Highest", "High", "Medium", "Low", "Lowest"}
CATEGORIES = {"new": "To Do", "indeterminate": "In Progress", "done": "Done"}

_BLOCKS = {"paragraph", "heading", "bulletList", "orderedList", "codeBlock", "rule"}
_INLINE = {"text", "hardBreak", "mention", "emoji", "inlineCard"}


def error_body(messages: list[str] | None = None, errors: dict[str, str] | None = None) -> Any:
    """Jira's ``ErrorCollection`` body."""
    return {"errorMessages": messages or [], "errors": errors or {}}


def adf_problems(doc: object) -> list[str]:
    """Everything that makes ``doc`` an invalid Atlassian Document (empty when valid)."""
    if not isinstance(doc, dict) or doc.get("type") != "doc" or doc.get("version") != 1:
        return ["root must be {type: doc, version: 1}"]
    problems: list[str] = []
    content = doc.get("content")
    if not isinstance(content, list):
        return ["doc.content must be a list"]
    for i, block in enumerate(content):
        if not isinstance(block, dict) or block.get("type") not in _BLOCKS:
            problems.append(f"content[{i}] is not a block node")
            continue
        for j, node in enumerate(block.get("content") or []):
            where = f"content[{i}].content[{j}]"
            if not isinstance(node, dict) or node.get("type") not in _INLINE:
                problems.append(f"{where} is not an inline node")
            elif node["type"] == "text" and not (
                isinstance(node.get("text"), str) and node["text"]
            ):
                problems.append(f"{where} text must be a non-empty string")
            elif node["type"] == "hardBreak" and set(node) - {"type", "attrs"}:
                problems.append(f"{where} hardBreak takes no content")
    return problems


def jira_time(when: datetime) -> str:
    """Jira's timestamp text, e.g. ``2026-11-24T10:15:30.000+0000``."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


@dataclass
class FakeJiraState(ScriptState):
    """Issues by key plus the scripted behaviour."""

    tokens: dict[str, str] = field(default_factory=lambda: {EMAIL: API_TOKEN})
    projects: set[str] = field(default_factory=lambda: {"OPS", "ENH"})
    issues: dict[str, dict[str, Any]] = field(default_factory=dict)

    def set_category(self, key: str, category: str, *, resolved: datetime | None = None) -> None:
        """Move an issue to a status category (``new``/``indeterminate``/``done``)."""
        fields = self.issues[key]["fields"]
        fields["status"] = {"name": CATEGORIES[category], "statusCategory": {"key": category}}
        fields["resolutiondate"] = jira_time(resolved) if resolved else None


def _authorised(state: FakeJiraState, request: Request) -> bool:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    try:
        email, _, token = base64.b64decode(value).decode().partition(":")
    except ValueError:
        return False
    return scheme.lower() == "basic" and state.tokens.get(email) == token


def _field_errors(fields: dict[str, Any], state: FakeJiraState) -> dict[str, str]:
    errors: dict[str, str] = {}
    project = fields.get("project") or {}
    if project.get("key") not in state.projects and project.get("id") is None:
        errors["project"] = "Specify a valid project ID or key"
    summary = fields.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        errors["summary"] = "You must specify a summary of the issue."
    elif len(summary) > 255:
        errors["summary"] = "Summary must be less than 255 characters."
    if (fields.get("issuetype") or {}).get("name") not in ISSUE_TYPES:
        errors["issuetype"] = "Specify an issue type"
    if "priority" in fields and (fields["priority"] or {}).get("name") not in PRIORITIES:
        errors["priority"] = "Specify the Priority (name) in the string format"
    if "description" in fields and adf_problems(fields["description"]):
        errors["description"] = NOT_ADF
    return errors


def build_app(state: FakeJiraState) -> Starlette:
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

    def unauthorised() -> Response:
        return PlainTextResponse("Client must be authenticated to access this resource.", 401)

    async def create(request: Request) -> Response:
        body = await record(request)
        if not _authorised(state, request):
            return unauthorised()
        failure = state.next_failure()
        if failure is not None:
            headers = {"Retry-After": failure.retry_after} if failure.retry_after else None
            messages = {
                429: ["Rate limit exceeded."],
                404: ["Issue does not exist or you do not have permission to see it."],
                400: ["Field 'priority' is required"],
            }.get(failure.status, ["Service unavailable, please retry."])
            return JSONResponse(error_body(messages), failure.status, headers=headers)
        fields = body.get("fields") if isinstance(body, dict) else None
        if not isinstance(fields, dict):
            return JSONResponse(error_body(["Issue fields are required."]), 400)
        errors = _field_errors(fields, state)
        if errors:
            return JSONResponse(error_body(errors=errors), 400)
        issue_id = str(10000 + len(state.issues))
        key = f"{fields['project']['key']}-{len(state.issues) + 1}"
        state.issues[key] = {"id": issue_id, "key": key, "fields": dict(fields)}
        state.set_category(key, "new")
        state.issues[key]["fields"]["created"] = jira_time(datetime.now(UTC))
        self_url = f"{request.base_url}rest/api/3/issue/{issue_id}"
        return JSONResponse({"id": issue_id, "key": key, "self": self_url}, 201)

    async def get_issue(request: Request) -> Response:
        await record(request)
        if not _authorised(state, request):
            return unauthorised()
        wanted = request.path_params["key"]
        issue = state.issues.get(wanted) or next(
            (i for i in state.issues.values() if i["id"] == wanted), None
        )
        if issue is None:
            message = "Issue does not exist or you do not have permission to see it."
            return JSONResponse(error_body([message]), 404)
        return JSONResponse(issue)

    async def myself(request: Request) -> Response:
        await record(request)
        if not _authorised(state, request):
            return unauthorised()
        return JSONResponse({"accountId": "5b10ac8d82e05b22cc7d4ef5", "emailAddress": EMAIL})

    return Starlette(
        routes=[
            Route(ISSUE, create, methods=["POST"]),
            Route(ISSUE + "/{key}", get_issue, methods=["GET"]),
            Route("/rest/api/3/myself", myself, methods=["GET"]),
        ]
    )


@dataclass(frozen=True, slots=True)
class RunningJira:
    """A started fake: ``base_url`` is what ``JIRA_URL`` takes."""

    base_url: str
    state: FakeJiraState


@contextmanager
def running_jira(state: FakeJiraState | None = None) -> Iterator[RunningJira]:
    """Start the fake on a free 127.0.0.1 port."""
    state = state or FakeJiraState()
    with serve_in_thread(build_app(state)) as url:
        yield RunningJira(base_url=url, state=state)
