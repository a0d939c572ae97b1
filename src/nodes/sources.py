"""Where the three context nodes get their data: the default database-backed sources.

A source is ``async (ContextRequest) -> result``. ``build_graph`` takes them as dependencies,
so a deployment (or a test) can swap one for another implementation without touching the graph.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from src.config import Settings
from src.context import IPLookupResult, KBArticle, SimilarTicket, TicketInfo
from src.database.repositories.corpus import search_kb, search_similar_tickets
from src.database.repositories.inventory import lookup_ips
from src.database.session import Connections
from src.services.ip_extract import extract_addresses


@dataclass(frozen=True, slots=True)
class ContextRequest:
    """What a source is asked about."""

    tenant_id: str
    ticket: TicketInfo
    ticket_url: Callable[[str], str]

    @property
    def text(self) -> str:
        """Subject and description, the text every source searches."""
        return f"{self.ticket.subject}\n{self.ticket.description}"


SimilarTicketsSource = Callable[[ContextRequest], Awaitable[tuple[SimilarTicket, ...]]]
KBSource = Callable[[ContextRequest], Awaitable[tuple[KBArticle, ...]]]
IPLookupSource = Callable[[ContextRequest], Awaitable[IPLookupResult]]


@dataclass(frozen=True, slots=True)
class ContextSources:
    """The three sources the context nodes call."""

    similar_tickets: SimilarTicketsSource
    kb_search: KBSource
    ip_lookup: IPLookupSource


def database_sources(settings: Settings, connections: Connections) -> ContextSources:
    """Sources reading the ``tickets``, ``kb_articles``, ``assets`` and ``networks`` tables.

    ``connections`` should be autocommit ones on PostgreSQL (``make_connections``): every
    source only reads, so a transaction around its queries would cost two round trips for
    nothing.
    """

    async def similar(req: ContextRequest) -> tuple[SimilarTicket, ...]:
        async with connections() as conn:
            found = await search_similar_tickets(
                conn,
                tenant_id=req.tenant_id,
                text=req.text,
                exclude_ticket_id=req.ticket.ticket_id,
                limit=settings.similar_tickets_limit,
                url_for=req.ticket_url,
            )
        return tuple(found)

    async def kb(req: ContextRequest) -> tuple[KBArticle, ...]:
        async with connections() as conn:
            found = await search_kb(
                conn, tenant_id=req.tenant_id, text=req.text, limit=settings.kb_results_limit
            )
        return tuple(found)

    async def ips(req: ContextRequest) -> IPLookupResult:
        targets = extract_addresses(req.text)
        if not targets:
            return IPLookupResult()
        async with connections() as conn:
            return await lookup_ips(conn, tenant_id=req.tenant_id, targets=targets)

    return ContextSources(similar_tickets=similar, kb_search=kb, ip_lookup=ips)
