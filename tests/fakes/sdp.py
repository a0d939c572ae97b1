"""The SDP simulator served on a real 127.0.0.1 port, for tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from src.demo.sdp_simulator import DEFAULT_API_KEY, SDPSimulatorState, create_sdp_simulator
from src.services.http import RetryPolicy
from src.services.servicedesk_client import AuthScheme, SDPCredentials, ServiceDeskClient
from tests.fakes.server import serve_in_thread

# Two retries, 10 ms then 20 ms; a Retry-After up to 5 s is honoured (tests record sleeps).
TEST_POLICY = RetryPolicy(max_retries=2, base_delay=0.01, max_delay=5.0, jitter=False)


@dataclass(frozen=True)
class RunningSDP:
    """A live simulator: its URL, its state and a key it accepts."""

    base_url: str
    state: SDPSimulatorState
    api_key: str

    def credentials(
        self, auth_scheme: AuthScheme = "onprem", api_key: str | None = None
    ) -> SDPCredentials:
        """Credentials for this simulator (its own key unless ``api_key`` is given)."""
        return SDPCredentials(self.base_url, api_key or self.api_key, auth_scheme)

    def client(
        self,
        http: httpx.AsyncClient,
        sleep: Callable[[float], Awaitable[None]],
        *,
        auth_scheme: AuthScheme = "onprem",
        api_key: str | None = None,
        correlation_id: str | None = "corr-123",
    ) -> ServiceDeskClient:
        """A ``ServiceDeskClient`` for this simulator using ``TEST_POLICY`` and ``sleep``."""
        creds = self.credentials(auth_scheme, api_key)
        return ServiceDeskClient(
            http, creds, TEST_POLICY, correlation_id=correlation_id, sleep=sleep
        )


@contextmanager
def running_sdp(
    api_keys: Mapping[str, str] | None = None, *, notes_key: str = "notes"
) -> Iterator[RunningSDP]:
    """Serve a fresh simulator for the duration of the ``with`` block."""
    keys = dict(api_keys or {DEFAULT_API_KEY: "administrator"})
    app, state = create_sdp_simulator(keys, notes_key=notes_key)
    with serve_in_thread(app) as base_url:
        yield RunningSDP(base_url=base_url, state=state, api_key=next(iter(keys)))
