"""The three context nodes (``similar_tickets``, ``kb_search``, ``ip_lookup``).

They run in parallel from ``fetch_ticket`` and share one deadline
(``CONTEXT_TIMEOUT_SECONDS`` from the moment the ticket was fetched). Each writes its own
state key and its ``NodeOutcome``; failures and timeouts are outcomes, never exceptions.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from langgraph.runtime import Runtime

from src.graph.state import EnhancementState, JobRuntime
from src.nodes.guard import run_guarded
from src.nodes.sources import ContextRequest


def make_context_node(
    name: str, state_key: str, source: Callable[[ContextRequest], Awaitable[Any]], budget: float
) -> Any:
    """A node that asks ``source`` and stores its answer under ``state_key``."""

    async def node(state: EnhancementState, runtime: Runtime[JobRuntime]) -> dict[str, Any]:
        request = ContextRequest(
            tenant_id=state["job"].tenant_id,
            ticket=state["ticket"],
            ticket_url=runtime.context.ticket_url,
        )
        result, outcome = await run_guarded(
            name,
            deadline=state["context_deadline"],
            budget=budget,
            work=lambda: source(request),
        )
        update: dict[str, Any] = {"outcomes": {name: outcome}}
        if result is not None:
            update[state_key] = result
        return update

    node.__name__ = name
    return node
