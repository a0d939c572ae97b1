"""A TCP proxy on 127.0.0.1 that hangs up on its first connections without answering.

It stands in front of a fake server to reproduce what a real endpoint does now and then: a
kept-alive connection closed by the server just as the client sends on it. The client sees the
request go out and the connection end with no response::

    with running_llm() as llm, dropping_proxy(llm.base_url, drops=1) as proxy:
        ...  # point OPENROUTER_BASE_URL at proxy.base_url
        assert proxy.dropped == 1
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class DroppingProxy:
    """``base_url`` is the target's with the proxy's port; ``dropped`` counts hang-ups."""

    base_url: str
    drops: int
    dropped: int = 0


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


@contextmanager
def dropping_proxy(target_url: str, *, drops: int = 1) -> Iterator[DroppingProxy]:
    """Proxy ``target_url``'s host and port; the first ``drops`` connections get no answer."""
    target = urlsplit(target_url)
    assert target.hostname is not None and target.port is not None
    loop = asyncio.new_event_loop()
    holder: dict[str, asyncio.Server] = {}
    proxy = DroppingProxy(base_url="", drops=drops)

    writers: set[asyncio.StreamWriter] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.add(writer)
        if proxy.dropped < proxy.drops:
            proxy.dropped += 1
            await reader.read(65536)  # the request arrives...
            writer.close()  # ...and the connection ends unanswered
            return
        upstream_reader, upstream_writer = await asyncio.open_connection(
            target.hostname, target.port
        )
        writers.add(upstream_writer)
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))

    async def start() -> None:
        holder["server"] = await asyncio.start_server(handle, "127.0.0.1", 0)

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    port = holder["server"].sockets[0].getsockname()[1]
    proxy.base_url = target._replace(netloc=f"127.0.0.1:{port}").geturl()

    async def stop() -> None:
        holder["server"].close()
        for writer in writers:
            writer.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    try:
        yield proxy
    finally:
        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
