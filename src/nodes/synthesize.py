"""``synthesize``: turn the gathered context into the note (LLM or formatted fallback)."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from src.config import Settings
from src.context import CONTEXT_NODES, EnhancementContext, IPLookupResult, Synthesis
from src.graph.state import EnhancementState
from src.logging import get_logger
from src.services.note import render_note

log = get_logger(__name__)


class Synthesizer(Protocol):
    """Anything that writes a ``Synthesis`` for a context and never raises for LLM trouble."""

    async def synthesize(self, context: EnhancementContext) -> Synthesis:
        """Return the LLM's synthesis or a fallback with its reason."""
        ...


def context_from_state(state: EnhancementState) -> EnhancementContext:
    """Assemble the ``EnhancementContext`` from the parallel nodes' results."""
    job = state["job"]
    outcomes = state.get("outcomes", {})
    return EnhancementContext(
        tenant_id=job.tenant_id,
        correlation_id=job.correlation_id,
        ticket=state["ticket"],
        similar_tickets=state.get("similar_tickets", ()),
        kb_articles=state.get("kb_articles", ()),
        ip_lookup=state.get("ip_lookup", IPLookupResult()),
        outcomes=tuple(outcomes[name] for name in CONTEXT_NODES if name in outcomes),
    )


def make_synthesize(settings: Settings, synthesizer: Synthesizer) -> Any:
    """Build the node around ``synthesizer``."""

    async def synthesize(state: EnhancementState) -> dict[str, Any]:
        started_at = state["context_deadline"] - settings.context_timeout_seconds
        context_ms = round((asyncio.get_running_loop().time() - started_at) * 1000)
        context = context_from_state(state)
        synthesis = await synthesizer.synthesize(context)
        log.info(
            "synthesis_done",
            used_fallback=synthesis.used_fallback,
            fallback_reason=synthesis.fallback_reason,
            model=synthesis.model,
            synthesis_ms=synthesis.elapsed_ms,
            context_ms=context_ms,
        )
        return {
            "synthesis": synthesis,
            "note_html": render_note(context, synthesis),
            "timings": {"context_ms": context_ms, "synthesis_ms": synthesis.elapsed_ms},
        }

    return synthesize
