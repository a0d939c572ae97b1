"""The data an enhancement is built from, shared by nodes, synthesis and the note.

Plain frozen dataclasses with no behaviour beyond small derived views, so every layer
(``services``, ``nodes``, ``workers``) can use them without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

NodeStatus = Literal["success", "failed", "timeout"]
CONTEXT_NODES = ("similar_tickets", "kb_search", "ip_lookup")


@dataclass(frozen=True, slots=True)
class TicketInfo:
    """The SDP request being enhanced; ``description`` is plain text (HTML stripped)."""

    ticket_id: str
    subject: str
    description: str
    display_id: str | None = None
    status: str | None = None
    priority: str | None = None
    category: str | None = None
    requester: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class SimilarTicket:
    """A past ticket of the same tenant that looks like this one."""

    ticket_id: str
    subject: str
    resolution: str | None
    status: str | None
    url: str | None
    display_id: str | None = None


@dataclass(frozen=True, slots=True)
class KBArticle:
    """A knowledge-base article that matches the ticket."""

    title: str
    url: str | None
    snippet: str


@dataclass(frozen=True, slots=True)
class AssetMatch:
    """An inventory asset whose IP address appears in the ticket."""

    ip: str
    hostname: str
    asset_type: str | None
    owner: str | None
    location: str | None
    criticality: str | None


@dataclass(frozen=True, slots=True)
class NetworkMatch:
    """An inventory network that contains an address or range from the ticket."""

    ip: str
    cidr: str
    name: str
    site: str | None
    vlan: str | None
    owner: str | None


@dataclass(frozen=True, slots=True)
class IPLookupResult:
    """Addresses found in the ticket and what the inventory knows about them."""

    addresses: tuple[str, ...] = ()
    assets: tuple[AssetMatch, ...] = ()
    networks: tuple[NetworkMatch, ...] = ()


@dataclass(frozen=True, slots=True)
class NodeOutcome:
    """How one context node went: status, time taken and the error when it did not succeed."""

    name: str
    status: NodeStatus
    elapsed_ms: int
    error: str | None = None


@dataclass(frozen=True, slots=True)
class EnhancementContext:
    """Everything gathered for one ticket, as given to synthesis and the note."""

    tenant_id: str
    correlation_id: str
    ticket: TicketInfo
    similar_tickets: tuple[SimilarTicket, ...] = ()
    kb_articles: tuple[KBArticle, ...] = ()
    ip_lookup: IPLookupResult = field(default_factory=IPLookupResult)
    outcomes: tuple[NodeOutcome, ...] = ()

    @property
    def gaps(self) -> tuple[NodeOutcome, ...]:
        """Context nodes that did not succeed, for the note's "could not gather" section."""
        return tuple(o for o in self.outcomes if o.status != "success")


@dataclass(frozen=True, slots=True)
class Synthesis:
    """What synthesis produced: the LLM's prose (or none) and how it was made.

    ``summary``, ``likely_cause`` and ``next_steps`` are the model's words; the note builds
    every link, ticket ID and asset name from the context, never from these fields.
    """

    summary: str | None
    likely_cause: str | None
    next_steps: tuple[str, ...]
    used_fallback: bool
    fallback_reason: str | None = None
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost: float | None = None
    elapsed_ms: int = 0
