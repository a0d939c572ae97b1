"""ServiceDeskClient failures over real HTTP: what is retried, what fails fast, the messages."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from src.demo.sdp_simulator import sdp_error_body
from src.errors import (
    AuthFailed,
    RateLimited,
    Rejected,
    RemoteNotFound,
    ServiceTimeout,
    Unavailable,
)
from src.services.http import make_http_client
from src.services.servicedesk_client import (
    SDPCredentials,
    ServiceDeskClient,
)
from tests.fakes.sdp import TEST_POLICY, RunningSDP, running_sdp
from tests.fakes.sleep import RecordingSleep


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


async def test_429_with_retry_after_waits_that_long_then_succeeds(
    sdp: RunningSDP, http: httpx.AsyncClient, sleep: RecordingSleep
) -> None:
    rid = sdp.state.add_request("Busy")
    sdp.state.fail_next("GET", 429, retry_after=2)
    request = await sdp.client(http, sleep).get_request(rid)
    assert request.id == rid
    assert sleep.delays == [2.0]
    assert len(sdp.state.calls) == 2


async def test_503_then_success(
    sdp: RunningSDP, http: httpx.AsyncClient, sleep: RecordingSleep
) -> None:
    rid = sdp.state.add_request("Flaky")
    sdp.state.fail_next("/notes", 503)
    note = await sdp.client(http, sleep).add_note(rid, "<p>ok</p>")
    assert len(sdp.state.calls_to("POST", "/notes")) == 2
    assert [n["id"] for n in sdp.state.notes_for(rid)] == [note.id]
    assert sleep.delays == [0.01]


async def test_503_every_time_raises_unavailable_after_retries(
    sdp: RunningSDP, http: httpx.AsyncClient, sleep: RecordingSleep
) -> None:
    sdp.state.fail_next(None, 503, times=5)
    with pytest.raises(Unavailable, match=r"^ServiceDesk API returned 503 Service Unavailable$"):
        await sdp.client(http, sleep).get_request("1")
    assert len(sdp.state.calls) == 3


async def test_bad_api_key_fails_fast_with_invalid_api_key_message(
    sdp: RunningSDP, http: httpx.AsyncClient, sleep: RecordingSleep
) -> None:
    rid = sdp.state.add_request("Locked")
    with pytest.raises(AuthFailed) as info:
        await sdp.client(http, sleep, api_key="wrong").get_request(rid)
    assert str(info.value) == "ServiceDesk API returned 401 Unauthorized: Invalid API key"
    assert info.value.status_code == 401
    assert (len(sdp.state.calls), sleep.delays) == (1, [])


async def test_plain_401_fails_fast(
    sdp: RunningSDP, http: httpx.AsyncClient, sleep: RecordingSleep
) -> None:
    sdp.state.fail_next(None, 401)
    with pytest.raises(AuthFailed, match=r"^ServiceDesk API returned 401 Unauthorized$"):
        await sdp.client(http, sleep).get_request("1")
    assert len(sdp.state.calls) == 1


async def test_unknown_ticket_fails_fast_with_not_found(
    sdp: RunningSDP, http: httpx.AsyncClient, sleep: RecordingSleep
) -> None:
    with pytest.raises(RemoteNotFound) as info:
        await sdp.client(http, sleep).get_request("999999")
    assert str(info.value) == "ServiceDesk API returned 404 Not Found: Resource not found"
    assert len(sdp.state.calls) == 1
    sdp.state.fail_next(None, 404)
    with pytest.raises(RemoteNotFound, match=r"^ServiceDesk API returned 404 Not Found$"):
        await sdp.client(http, sleep).get_request("999999")


@pytest.mark.parametrize(
    ("http_status", "code", "error", "message"),
    [
        (200, 4022, AuthFailed, "ServiceDesk API returned 401 Unauthorized: Invalid API key"),
        (
            400,
            4002,
            AuthFailed,
            "ServiceDesk API returned 403 Forbidden: Not allowed for this user",
        ),
        (200, 4007, RemoteNotFound, "ServiceDesk API returned 404 Not Found: Resource not found"),
        (
            400,
            4009,
            Rejected,
            "ServiceDesk API returned 400 Bad Request: "
            "Given field is not editable (field is_trashed, SDP 4009)",
        ),
        (
            200,
            4009,
            Rejected,
            "ServiceDesk API returned 400 Bad Request: "
            "Given field is not editable (field is_trashed, SDP 4009)",
        ),
    ],
)
async def test_sdp_body_errors_map_to_the_error_tree_without_retry(
    sdp: RunningSDP,
    http: httpx.AsyncClient,
    sleep: RecordingSleep,
    http_status: int,
    code: int,
    error: type[Exception],
    message: str,
) -> None:
    body = sdp_error_body(code, "Given field is not editable", "is_trashed")
    sdp.state.fail_next(None, http_status, body=body)
    with pytest.raises(error) as info:
        await sdp.client(http, sleep).get_request("1")
    assert str(info.value) == message
    assert len(sdp.state.calls) == 1


async def test_sdp_4015_is_rate_limited_and_retried(
    sdp: RunningSDP, http: httpx.AsyncClient, sleep: RecordingSleep
) -> None:
    rid = sdp.state.add_request("Throttled")
    sdp.state.fail_next(None, 429, body=sdp_error_body(4015, "API Rate Limit reached"))
    assert (await sdp.client(http, sleep).get_request(rid)).id == rid
    assert sleep.delays == [0.01]


async def test_sdp_4015_with_long_retry_after_is_handed_to_the_job_layer(
    sdp: RunningSDP, http: httpx.AsyncClient, sleep: RecordingSleep
) -> None:
    body = sdp_error_body(4015, "API Rate Limit reached")
    sdp.state.fail_next(None, 200, retry_after=60, body=body)
    with pytest.raises(RateLimited) as info:
        await sdp.client(http, sleep).get_request("1")
    assert (
        str(info.value) == "ServiceDesk API returned 429 Too Many Requests: API rate limit reached"
    )
    assert info.value.retry_after == 60.0
    assert (len(sdp.state.calls), sleep.delays) == (1, [])


async def test_closed_port_is_retried_then_raises_service_timeout(
    http: httpx.AsyncClient, sleep: RecordingSleep
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    creds = SDPCredentials(f"http://127.0.0.1:{port}", "key")
    client = ServiceDeskClient(http, creds, TEST_POLICY, sleep=sleep)
    with pytest.raises(ServiceTimeout, match=r"^ServiceDesk API unreachable: ") as info:
        await client.get_request("1")
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert sleep.delays == [0.01, 0.02]


async def test_read_timeout_on_post_is_not_retried(sdp: RunningSDP, sleep: RecordingSleep) -> None:
    rid = sdp.state.add_request("Slow")
    sdp.state.latency_s = 0.3
    async with make_http_client(timeout=0.1) as http:
        client = sdp.client(http, sleep)
        with pytest.raises(ServiceTimeout, match=r"^ServiceDesk API timed out after 0.1s$"):
            await client.add_note(rid, "<p>once</p>")
        assert len(sdp.state.calls_to("POST")) == 1
        with pytest.raises(ServiceTimeout):
            await client.get_request(rid)
        assert len(sdp.state.calls_to("GET")) == 3
