"""Run one context node inside the shared budget and record how it went.

A node never raises: a timeout becomes ``Timeout after 30s`` and an error becomes its message,
both recorded as the node's ``NodeOutcome``, so one slow or broken source never discards the
others' results.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError

from src.context import NodeOutcome
from src.errors import EnhancerError
from src.logging import get_logger

T = TypeVar("T")
log = get_logger(__name__)


async def run_guarded(
    name: str, *, deadline: float, budget: float, work: Callable[[], Awaitable[T]]
) -> tuple[T | None, NodeOutcome]:
    """Await ``work()`` until the loop-time ``deadline``; never raises for its failures."""
    loop = asyncio.get_running_loop()
    started = time.perf_counter()

    def elapsed() -> int:
        return round((time.perf_counter() - started) * 1000)

    try:
        async with asyncio.timeout_at(deadline):
            result = await work()
    except TimeoutError:
        outcome = NodeOutcome(name, "timeout", elapsed(), f"Timeout after {budget:g}s")
        log.warning("context_node_timeout", node_name=name, elapsed_ms=outcome.elapsed_ms)
        return None, outcome
    except (EnhancerError, SQLAlchemyError, OSError) as exc:
        outcome = NodeOutcome(name, "failed", elapsed(), f"{type(exc).__name__}: {exc}"[:500])
        log.warning("context_node_failed", node_name=name, error=outcome.error)
        return None, outcome
    except Exception as exc:
        outcome = NodeOutcome(name, "failed", elapsed(), f"{type(exc).__name__}: {exc}"[:500])
        log.exception("context_node_crashed", node_name=name, error=outcome.error)
        return None, outcome
    outcome = NodeOutcome(name, "success", elapsed())
    log.info(
        "context_node_done",
        node_name=name,
        elapsed_ms=outcome.elapsed_ms,
        remaining_ms=round((deadline - loop.time()) * 1000),
    )
    return result, outcome
