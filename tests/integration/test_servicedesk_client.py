"""ServiceDeskClient over real HTTP against the SDP simulator on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from src.errors import (
    ValidationFailed,
)
from src.services.http import make_http_client
from src.services.servicedesk_client import (
    ticket_web_url,
    update_ticket_with_enhancement,
)
from tests.fakes.sdp import RunningSDP, running_sdp
from tests.fakes.sleep import RecordingSleep

ACCEPT = "application/vnd.manageengine.sdp.v3+json"


@pytest.fixture
def sdp() -> Iterator[RunningSDP]:
    with running_sdp() as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with make_http_client(timeout=5) as client:
        yield client


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


async def test_get_request_returns_typed_fields(
    sdp: RunningSDP, http: httpx.AsyncClient, sleep: RecordingSleep
) -> None:
    rid = sdp.state.add_request(
        "VPN down",
        description="<p>Cannot connect</p>",
        priority="High",
        category="Network",
        requester="Dana",
        created_ms=1604655581473,
    )
    request = await sdp.client(http, sleep).get_request(rid)
    assert (request.id, request.display_id, request.subject) == (rid, rid, "VPN down")
    assert request.description_html == "<p>Cannot connect</p>"
    assert (request.status, request.priority, request.category) == ("Open", "High", "Network")
    assert (request.requester, request.created_time, request.resolution) == (
        "Dana",
        "1604655581473",
        None,
    )


async def test_onprem_note_sends_authtoken_and_note_form(
    sdp: RunningSDP, http: httpx.AsyncClient, sleep: RecordingSleep
) -> None:
    rid = sdp.state.add_request("Printer jam")
    note = await sdp.client(http, sleep).add_note(rid, "<p>Try tray 2</p>")

    [call] = sdp.state.calls_to("POST", "/notes")
    assert call.headers["authtoken"] == sdp.api_key
    assert "authorization" not in call.headers
    assert call.headers["accept"] == ACCEPT
    assert call.headers["x-correlation-id"] == "corr-123"
    assert call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert list(call.form) == ["input_data"]
    assert json.loads(call.form["input_data"]) == {
        "note": {
            "description": "<p>Try tray 2</p>",
            "show_to_requester": False,
            "mark_first_response": False,
        }
    }
    assert note.id == sdp.state.notes_for(rid)[0]["id"]
    assert (note.description_html, note.show_to_requester, note.added_by) == (
        "<p>Try tray 2</p>",
        False,
        "administrator",
    )


async def test_cloud_note_sends_zoho_oauth_and_request_note_form(
    sdp: RunningSDP, http: httpx.AsyncClient, sleep: RecordingSleep
) -> None:
    rid = sdp.state.add_request("Laptop slow")
    note = await sdp.client(http, sleep, auth_scheme="cloud").add_note(rid, "<p>Hi</p>")

    [call] = sdp.state.calls_to("POST", "/notes")
    assert call.headers["authorization"] == f"Zoho-oauthtoken {sdp.api_key}"
    assert "authtoken" not in call.headers
    assert json.loads(call.form["input_data"]) == {
        "request_note": {
            "description": "<p>Hi</p>",
            "show_to_requester": False,
            "mark_first_response": False,
            "notify_technician": False,
        }
    }
    assert note.id.isdigit()
    assert note.added_time is not None


@pytest.mark.parametrize("notes_key", ["notes", "request_notes"])
async def test_list_notes_pages_through_every_note(
    http: httpx.AsyncClient, sleep: RecordingSleep, notes_key: str
) -> None:
    with running_sdp(notes_key=notes_key) as sdp:
        rid = sdp.state.add_request("Many notes")
        for n in range(230):
            sdp.state.add_note(rid, f"note {n}", author="bot")
        notes = await sdp.client(http, sleep).list_notes(rid)
        starts = [c.input_data()["list_info"]["start_index"] for c in sdp.state.calls]
    assert [n.description_html for n in notes] == [f"note {n}" for n in range(230)]
    assert starts == [1, 101, 201]


async def test_find_note_containing(
    sdp: RunningSDP, http: httpx.AsyncClient, sleep: RecordingSleep
) -> None:
    rid = sdp.state.add_request("Find me")
    sdp.state.add_note(rid, "first", author="bot")
    stored = sdp.state.add_note(rid, "ref job-7 here", author="bot")
    client = sdp.client(http, sleep)
    found = await client.find_note_containing(rid, "job-7")
    assert found is not None and found.id == stored["id"]
    assert await client.find_note_containing(rid, "job-8") is None


async def test_malformed_ticket_id_is_refused_before_any_call(
    sdp: RunningSDP, http: httpx.AsyncClient, sleep: RecordingSleep
) -> None:
    with pytest.raises(ValidationFailed):
        await sdp.client(http, sleep).get_request("../admin")
    assert sdp.state.calls == []


def test_ticket_web_url() -> None:
    assert (
        ticket_web_url("https://sdp.example.test:8080/", "onprem", "42")
        == "https://sdp.example.test:8080/WorkOrder.do?woMode=viewWO&woID=42"
    )
    assert (
        ticket_web_url("https://sdpondemand.manageengine.com", "cloud", "173861000000000001")
        == "https://sdpondemand.manageengine.com/app/itdesk/ui/requests/173861000000000001/details"
    )


def test_update_ticket_with_enhancement_posts_once_per_correlation_id(
    sdp: RunningSDP, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    rid = sdp.state.add_request("Runbook")
    first = asyncio.run(
        update_ticket_with_enhancement(sdp.base_url, sdp.api_key, rid, "<p>Hints</p>", "job-42")
    )
    again = asyncio.run(
        update_ticket_with_enhancement(sdp.base_url, sdp.api_key, rid, "<p>Hints</p>", "job-42")
    )
    notes = sdp.state.notes_for(rid)
    assert first == again == notes[0]["id"]
    assert len(notes) == 1
    assert "job-42" in notes[0]["description"]
    assert len(sdp.state.calls_to("POST")) == 1
    assert {c.headers["x-correlation-id"] for c in sdp.state.calls} == {"job-42"}


def test_update_ticket_with_enhancement_cloud(
    sdp: RunningSDP, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    rid = sdp.state.add_request("Cloud runbook")
    note_id = asyncio.run(
        update_ticket_with_enhancement(
            sdp.base_url, sdp.api_key, rid, "<p>job-9 hints</p>", "job-9", auth_scheme="cloud"
        )
    )
    [call] = sdp.state.calls_to("POST")
    assert "request_note" in call.input_data()
    assert sdp.state.notes_for(rid)[0] == {**sdp.state.notes_for(rid)[0], "id": note_id}
    assert sdp.state.notes_for(rid)[0]["description"] == "<p>job-9 hints</p>"
