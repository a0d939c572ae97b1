"""An ``httpx`` transport that sends through aiohttp's connection pool.

The clients keep httpx's API (requests, responses, exceptions, ``MockTransport`` and vcrpy in
tests); only the connection pool underneath is aiohttp's. httpcore's async pool looks at every
open connection (a ``poll`` per idle socket) for each request it assigns, so with the hundreds of
kept-alive connections a worker holds, a request cost a worker 4-5 ms of CPU here; through this
transport it costs under 1 ms (``docs/decisions/0009-aiohttp-connection-pool.md``).

One module serves both httpx (our SDP/ITSM clients) and httpx2 (the ``openai`` SDK under
``ChatOpenAI``): the aiohttp part is shared and each wrapper raises its own module's exception
types, mapped so that retry decisions stay right (only a failed connect is "never delivered").
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import Any

import aiohttp
import httpx
import httpx2
from yarl import URL

# Idle connections are dropped before the common server keep-alive of 5 s (uvicorn, nginx), so
# a request is never written to a socket the server is closing.
KEEPALIVE_SECONDS = 4.0


class _Failure(Exception):
    """An aiohttp failure, reduced to the httpx exception ``kind`` it becomes."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _kind_of(exc: BaseException) -> str:
    """The httpx exception name for an aiohttp (or timeout) failure."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return "ConnectTimeout"
    if isinstance(exc, aiohttp.ServerTimeoutError | TimeoutError):
        return "ReadTimeout"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "ConnectError"
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientResponseError):
        return "RemoteProtocolError"
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        return "UnsupportedProtocol"
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientOSError):
        return "ReadError"
    return "NetworkError"


def _client_timeout(timeouts: Mapping[str, Any]) -> aiohttp.ClientTimeout:
    connect, pool = timeouts.get("connect"), timeouts.get("pool")
    return aiohttp.ClientTimeout(
        total=None,
        # aiohttp's ``connect`` includes waiting for a free connection in the pool.
        connect=None if connect is None or pool is None else connect + pool,
        sock_connect=connect,
        sock_read=timeouts.get("read"),
    )


class _AiohttpPool:
    """The aiohttp session behind one client; created on first use, in the running loop."""

    def __init__(self, *, verify: bool, max_connections: int) -> None:
        self._ssl: ssl.SSLContext | bool = ssl.create_default_context() if verify else False
        self._limit = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._limit, keepalive_timeout=KEEPALIVE_SECONDS, ssl=self._ssl
            )
            self._session = aiohttp.ClientSession(
                connector=connector, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar()
            )
        return self._session

    async def send(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: bytes,
        timeouts: Mapping[str, Any],
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes, str]:
        """Status, raw headers, undecoded body and reason phrase; raises ``_Failure``."""
        session = self._open()
        try:
            async with session.request(
                method,
                URL(url, encoded=True),
                headers=headers,
                data=body or None,
                allow_redirects=False,
                timeout=_client_timeout(timeouts),
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
            ) as response:
                content = await response.read()
                return response.status, list(response.raw_headers), content, response.reason or ""
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _Failure(_kind_of(exc), str(exc) or type(exc).__name__) from exc

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class AiohttpTransport(httpx.AsyncBaseTransport):
    """``httpx.AsyncClient(transport=AiohttpTransport(...))``."""

    def __init__(self, *, verify: bool = True, max_connections: int = 200) -> None:
        self._pool = _AiohttpPool(verify=verify, max_connections=max_connections)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``; aiohttp failures become the matching ``httpx`` exceptions."""
        try:
            status, headers, content, reason = await self._pool.send(
                request.method,
                str(request.url),
                request.headers.multi_items(),
                await request.aread(),
                request.extensions.get("timeout", {}),
            )
        except _Failure as exc:
            error: type[httpx.TransportError] = getattr(httpx, exc.kind)
            raise error(str(exc), request=request) from exc.__cause__
        return httpx.Response(
            status,
            headers=headers,
            content=content,
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason.encode()},
        )

    async def aclose(self) -> None:
        """Close every pooled connection."""
        await self._pool.aclose()


class Aiohttp2Transport(httpx2.AsyncBaseTransport):
    """The same transport for ``httpx2`` clients (the ``openai`` SDK's)."""

    def __init__(self, *, verify: bool = True, max_connections: int = 1000) -> None:
        self._pool = _AiohttpPool(verify=verify, max_connections=max_connections)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """Send ``request``; aiohttp failures become the matching ``httpx2`` exceptions."""
        try:
            status, headers, content, reason = await self._pool.send(
                request.method,
                str(request.url),
                request.headers.multi_items(),
                await request.aread(),
                request.extensions.get("timeout", {}),
            )
        except _Failure as exc:
            error: type[httpx2.TransportError] = getattr(httpx2, exc.kind)
            raise error(str(exc), request=request) from exc.__cause__
        return httpx2.Response(
            status,
            headers=headers,
            content=content,
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason.encode()},
        )

    async def aclose(self) -> None:
        """Close every pooled connection."""
        await self._pool.aclose()
