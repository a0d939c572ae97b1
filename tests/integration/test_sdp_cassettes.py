"""ServiceDeskClient against hand-written cassettes shaped like real SDP v3 responses.

The host ``sdp.example.test`` never resolves: record mode ``none`` replays or fails, so no
real network is touched.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import vcr

from src.errors import AuthFailed, Rejected
from src.services.http import RetryPolicy, make_http_client
from src.services.servicedesk_client import AuthScheme, SDPCredentials, ServiceDeskClient

CASSETTES = Path(__file__).parent.parent / "cassettes" / "sdp"
ONPREM = "https://sdp.example.test:8080"
CLOUD = "https://sdp.example.test"
POLICY = RetryPolicy(max_retries=2, base_delay=0.01, max_delay=0.05, jitter=False)

replay = vcr.VCR(
    cassette_library_dir=str(CASSETTES),
    record_mode="none",
    match_on=["method", "scheme", "host", "port", "path", "query"],
)


async def no_sleep(_: float) -> None:
    raise AssertionError("a cassette replay must not need a retry")


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with make_http_client(timeout=5) as client:
        yield client


def client(http: httpx.AsyncClient, base: str, scheme: AuthScheme = "onprem") -> ServiceDeskClient:
    creds = SDPCredentials(base, "cassette-key", scheme)
    return ServiceDeskClient(http, creds, POLICY, sleep=no_sleep)


async def test_get_request_reads_string_ids_dates_and_reference_names(
    http: httpx.AsyncClient,
) -> None:
    with replay.use_cassette("request_get.yaml") as cassette:
        request = await client(http, ONPREM).get_request("10")
    assert cassette.all_played
    assert (request.id, request.display_id) == ("10", "10")
    assert request.subject == "Outlook keeps asking for password"
    assert request.description_html == (
        "<div>Since this morning Outlook prompts for my password.</div>"
    )
    assert (request.status, request.priority, request.category) == ("Open", "High", "Email")
    assert (request.requester, request.created_time, request.resolution) == (
        "Dana Reyes",
        "1604655581473",
        None,
    )


async def test_note_create_reads_current_note_form(http: httpx.AsyncClient) -> None:
    with replay.use_cassette("note_create.yaml") as cassette:
        note = await client(http, ONPREM).add_note("10", "<p>Similar ticket #42</p>")
    assert cassette.all_played
    assert (note.id, note.description_html, note.show_to_requester) == (
        "301",
        "<p>Similar ticket #42</p>",
        False,
    )
    assert (note.added_time, note.added_by) == ("1604657400000", "enhancer-bot")


async def test_note_create_reads_legacy_request_note_form(http: httpx.AsyncClient) -> None:
    with replay.use_cassette("note_create_legacy.yaml") as cassette:
        note = await client(http, CLOUD, "cloud").add_note("173861000000000001", "New Note")
    assert cassette.all_played
    assert (note.id, note.description_html) == ("23", "New Note")
    assert (note.added_time, note.added_by) == ("1604655970497", "administrator")


async def test_notes_list_reads_request_notes_and_finds_a_marker(
    http: httpx.AsyncClient,
) -> None:
    with replay.use_cassette("notes_list_legacy.yaml") as cassette:
        found = await client(http, ONPREM).find_note_containing("10", "job-42")
    assert cassette.all_played
    assert found is not None
    assert (found.id, found.added_by) == ("22", "enhancer-bot")


async def test_invalid_key_body_maps_to_auth_failed(http: httpx.AsyncClient) -> None:
    with replay.use_cassette("error_invalid_key.yaml"), pytest.raises(AuthFailed) as info:
        await client(http, ONPREM).get_request("10")
    assert str(info.value) == "ServiceDesk API returned 401 Unauthorized: Invalid API key"
    assert info.value.status_code == 401


async def test_field_error_body_maps_to_rejected_with_sdp_message(
    http: httpx.AsyncClient,
) -> None:
    with replay.use_cassette("error_field_not_editable.yaml"), pytest.raises(Rejected) as info:
        await client(http, ONPREM).add_note("10", "<p>x</p>")
    assert str(info.value) == (
        "ServiceDesk API returned 400 Bad Request: "
        "Given field is not editable (field is_trashed, SDP 4009)"
    )
