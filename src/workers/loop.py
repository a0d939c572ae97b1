"""One persistent asyncio event loop per worker process, run in a background thread.

Celery calls tasks synchronously from its pool threads; ``run_sync`` submits the coroutine to
this loop and waits. Engines, HTTP clients and the LLM client are created once on this loop
and reused by every job, never re-created per task (they are loop-bound).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_pid: int | None = None


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A new uvloop loop where uvloop is installed (Linux, macOS), else a standard one.

    A job is mostly socket callbacks; uvloop runs them in C (measured: about a fifth of the
    worker's CPU per job was the pure-Python loop and its transports).
    """
    try:
        import uvloop
    except ImportError:  # pragma: no cover - Windows
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def get_loop() -> asyncio.AbstractEventLoop:
    """The process's loop, started on first use (and again in a forked child)."""
    global _loop, _pid
    with _lock:
        if _loop is None or _pid != os.getpid():
            loop = new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="enhancer-loop", daemon=True)
            thread.start()
            _loop, _pid = loop, os.getpid()
        return _loop


def run_sync(coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run ``coro`` on the process loop and return its result (blocking the calling thread)."""
    return asyncio.run_coroutine_threadsafe(coro, get_loop()).result(timeout)
