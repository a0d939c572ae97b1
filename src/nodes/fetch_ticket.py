"""``fetch_ticket``: read the SDP request, keep it in the corpus, start the context budget."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from langgraph.runtime import Runtime
from sqlalchemy.exc import SQLAlchemyError

from src.config import Settings
from src.context import TicketInfo
from src.database.repositories.corpus import upsert_ticket
from src.database.session import Connections
from src.errors import ExternalServiceError
from src.graph.state import EnhancementState, JobRuntime
from src.logging import get_logger
from src.nodes.failures import failure_from
from src.services.text import html_to_text

log = get_logger(__name__)


def make_fetch_ticket(settings: Settings, connections: Connections) -> Any:
    """Build the node; ``connections`` are used to store the ticket for future similarity search."""

    async def fetch_ticket(state: EnhancementState, runtime: Runtime[JobRuntime]) -> dict[str, Any]:
        job = state["job"]
        started = time.perf_counter()
        try:
            request = await runtime.context.sdp.get_request(job.ticket_id)
        except ExternalServiceError as exc:
            return {"failure": failure_from("fetch_ticket", exc)}
        ticket = TicketInfo(
            ticket_id=request.id,
            display_id=request.display_id,
            subject=request.subject or "",
            description=html_to_text(request.description_html),
            status=request.status,
            priority=request.priority,
            category=request.category,
            requester=request.requester,
            url=runtime.context.ticket_url(request.id),
        )
        try:
            async with connections() as conn:
                await upsert_ticket(
                    conn,
                    tenant_id=job.tenant_id,
                    ticket_id=ticket.ticket_id,
                    subject=ticket.subject,
                    description=ticket.description,
                    display_id=ticket.display_id,
                    status=ticket.status,
                    category=ticket.category,
                )
        except SQLAlchemyError as exc:
            # The corpus is a by-product; the enhancement itself does not depend on it.
            log.warning("ticket_store_failed", error=str(exc)[:300])
        fetch_ms = round((time.perf_counter() - started) * 1000)
        log.info("ticket_fetched", ticket_id=ticket.ticket_id, fetch_ms=fetch_ms)
        deadline = asyncio.get_running_loop().time() + settings.context_timeout_seconds
        return {"ticket": ticket, "context_deadline": deadline, "timings": {"fetch_ms": fetch_ms}}

    return fetch_ticket
