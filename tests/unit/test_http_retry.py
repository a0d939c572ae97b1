"""The shared retry policy: what is retried, how long it waits, what it raises."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from structlog.testing import capture_logs

from src.errors import (
    AuthFailed,
    ExternalServiceError,
    RateLimited,
    Rejected,
    RemoteNotFound,
    ServiceTimeout,
    Unavailable,
)
from src.services.http import (
    RetryPolicy,
    Send,
    make_http_client,
    parse_retry_after,
    send_with_retry,
)
from tests.conftest import make_settings
from tests.fakes.sleep import RecordingSleep

POLICY = RetryPolicy(max_retries=3, base_delay=0.1, max_delay=1.0, jitter=False)
REQUEST = httpx.Request("GET", "http://127.0.0.1:9/x", extensions={"timeout": {"read": 5.0}})


def scripted(*steps: httpx.Response | Exception) -> tuple[Send, list[int]]:
    """A ``send`` that plays ``steps`` in order; the list counts calls."""
    calls: list[int] = []

    async def send() -> httpx.Response:
        calls.append(1)
        step = steps[min(len(calls), len(steps)) - 1]
        if isinstance(step, Exception):
            raise step
        return step

    return send, calls


def response(status: int, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, headers=headers, request=REQUEST)


def test_delay_grows_exponentially_and_is_capped() -> None:
    assert [POLICY.delay_for(n) for n in (1, 2, 3, 4, 5)] == [0.1, 0.2, 0.4, 0.8, 1.0]


def test_jitter_keeps_delay_between_half_and_full() -> None:
    policy = RetryPolicy(max_retries=3, base_delay=0.4, max_delay=1.0)
    for _ in range(50):
        assert 0.2 <= policy.delay_for(1) <= 0.4
        assert 0.5 <= policy.delay_for(9) <= 1.0


def test_retry_after_is_used_as_the_delay() -> None:
    assert POLICY.delay_for(1, retry_after=0.7) == 0.7
    assert POLICY.too_long(1.5)
    assert not POLICY.too_long(1.0)
    assert not POLICY.too_long(None)


def test_policy_from_settings(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, sdp_max_retries=5)
    assert RetryPolicy.from_settings(settings) == RetryPolicy(5, 0.01, 0.05)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7.0),
        (" 1.5 ", 1.5),
        ("-3", 0.0),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
        ("soon", None),
        ("inf", None),
        ("nan", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after_accepts_seconds_and_http_dates(
    value: str | None, expected: float | None
) -> None:
    now = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)
    assert parse_retry_after(value, now=now) == expected


async def test_http_client_always_has_timeouts_and_caps_connect_at_ten_seconds() -> None:
    async with make_http_client(timeout=30) as client:
        assert client.timeout.connect == 10
        assert client.timeout.read == 30
    async with make_http_client(timeout=2, verify=False, max_connections=5) as client:
        assert client.timeout.connect == 2


async def test_503_is_retried_then_succeeds() -> None:
    send, _ = scripted(response(503), response(200))
    sleep = RecordingSleep()
    outcome = await send_with_retry(send, policy=POLICY, service="Test", sleep=sleep)
    assert outcome.response.status_code == 200
    assert (outcome.attempts, outcome.total_delay_s, sleep.delays) == (2, 0.1, [0.1])
    assert isinstance(outcome.last_error, Unavailable)
    assert str(outcome.last_error) == "Test API returned 503 Service Unavailable"


async def test_429_waits_for_retry_after() -> None:
    send, _ = scripted(response(429, {"Retry-After": "0.5"}), response(200))
    sleep = RecordingSleep()
    outcome = await send_with_retry(send, policy=POLICY, service="Test", sleep=sleep)
    assert sleep.delays == [0.5]
    assert outcome.attempts == 2


async def test_retry_after_above_max_delay_gives_up_at_once_with_retry_after() -> None:
    send, calls = scripted(response(429, {"Retry-After": "120"}), response(200))
    sleep = RecordingSleep()
    with pytest.raises(RateLimited) as info:
        await send_with_retry(send, policy=POLICY, service="Test", sleep=sleep)
    assert info.value.retry_after == 120.0
    assert str(info.value) == "Test API returned 429 Too Many Requests"
    assert (len(calls), sleep.delays) == (1, [])


async def test_retryable_status_raises_after_max_retries() -> None:
    send, calls = scripted(response(429))
    sleep = RecordingSleep()
    with pytest.raises(RateLimited) as info:
        await send_with_retry(send, policy=POLICY, service="Test", sleep=sleep)
    assert info.value.retry_after is None
    assert len(calls) == 4
    assert sleep.delays == [0.1, 0.2, 0.4]
    assert isinstance(info.value.__cause__, httpx.HTTPStatusError)


@pytest.mark.parametrize(
    ("status", "error", "message"),
    [
        (400, Rejected, "Test API returned 400 Bad Request"),
        (401, AuthFailed, "Test API returned 401 Unauthorized"),
        (403, AuthFailed, "Test API returned 403 Forbidden"),
        (404, RemoteNotFound, "Test API returned 404 Not Found"),
        (422, Rejected, "Test API returned 422 Unprocessable Entity"),
    ],
)
async def test_client_errors_fail_fast_without_retry(
    status: int, error: type[ExternalServiceError], message: str
) -> None:
    send, calls = scripted(response(status), response(200))
    sleep = RecordingSleep()
    with pytest.raises(error) as info:
        await send_with_retry(send, policy=POLICY, service="Test", sleep=sleep)
    assert (str(info.value), info.value.status_code) == (message, status)
    assert (len(calls), sleep.delays) == (1, [])


async def test_connect_error_is_retried_then_raises_service_timeout() -> None:
    failure = httpx.ConnectError("All connection attempts failed", request=REQUEST)
    send, calls = scripted(failure)
    with pytest.raises(ServiceTimeout) as info:
        await send_with_retry(send, policy=POLICY, service="Test", sleep=RecordingSleep())
    assert str(info.value) == "Test API unreachable: All connection attempts failed"
    assert info.value.__cause__ is failure
    assert len(calls) == 4


async def test_timeout_message_names_the_configured_timeout() -> None:
    send, _ = scripted(httpx.ReadTimeout("read timed out", request=REQUEST))
    with pytest.raises(ServiceTimeout, match=r"^Test API timed out after 5s$"):
        await send_with_retry(send, policy=POLICY, service="Test", sleep=RecordingSleep())


@pytest.mark.parametrize(
    ("make_failure", "expected_calls"),
    [
        (lambda: httpx.ConnectError("refused", request=REQUEST), 2),
        (lambda: response(503), 2),
        (lambda: response(429), 2),
        (lambda: httpx.ReadTimeout("slow", request=REQUEST), 1),
        (lambda: httpx.RemoteProtocolError("dropped", request=REQUEST), 1),
        (lambda: response(500), 1),
        (lambda: response(502), 1),
    ],
)
async def test_non_idempotent_calls_retry_only_failures_the_server_did_not_act_on(
    make_failure: Callable[[], httpx.Response | Exception], expected_calls: int
) -> None:
    policy = RetryPolicy(max_retries=1, base_delay=0.01, max_delay=1.0, jitter=False)
    send, calls = scripted(make_failure(), make_failure())
    with pytest.raises(ExternalServiceError):
        await send_with_retry(
            send, policy=policy, service="Test", idempotent=False, sleep=RecordingSleep()
        )
    assert len(calls) == expected_calls


async def test_zero_retries_means_one_attempt() -> None:
    send, calls = scripted(response(503), response(200))
    policy = RetryPolicy(max_retries=0, base_delay=0.1, max_delay=1.0)
    with pytest.raises(Unavailable):
        await send_with_retry(send, policy=policy, service="Test", sleep=RecordingSleep())
    assert len(calls) == 1


async def test_custom_classify_can_fail_a_200() -> None:
    def classify(resp: httpx.Response) -> None:
        if resp.headers.get("x-busy"):
            raise Unavailable("Test API busy", service="Test", status_code=503)

    send, calls = scripted(response(200, {"x-busy": "1"}), response(200))
    outcome = await send_with_retry(
        send, policy=POLICY, service="Test", classify=classify, sleep=RecordingSleep()
    )
    assert (outcome.attempts, len(calls)) == (2, 2)


async def test_each_retry_is_logged_with_service_attempt_status_and_delay() -> None:
    send, _ = scripted(response(503), response(502), response(200))
    with capture_logs() as logs:
        await send_with_retry(send, policy=POLICY, service="Test", sleep=RecordingSleep())
    retries = [entry for entry in logs if entry["event"] == "http_retry"]
    assert [(e["service"], e["attempt"], e["status"], e["delay"]) for e in retries] == [
        ("Test", 1, 503, 0.1),
        ("Test", 2, 502, 0.2),
    ]
