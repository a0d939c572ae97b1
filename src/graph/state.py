"""The graph's state and the per-job runtime context handed to every node."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, TypedDict, TypeVar

from src.context import IPLookupResult, KBArticle, NodeOutcome, SimilarTicket, Synthesis, TicketInfo
from src.services.servicedesk_client import ServiceDeskClient

K = TypeVar("K")
V = TypeVar("V")


def merge_dicts(left: dict[K, V], right: dict[K, V]) -> dict[K, V]:
    """Reducer for keys written by parallel branches: each branch adds its own entries."""
    return {**left, **right}


@dataclass(frozen=True, slots=True)
class JobInfo:
    """The job being run, as claimed from ``enhancement_history``."""

    job_id: str
    correlation_id: str
    tenant_id: str
    ticket_id: str
    attempts: int


@dataclass(frozen=True, slots=True)
class JobFailure:
    """Why the job could not finish; ``retryable`` decides between retry and ``failed``."""

    phase: str
    message: str
    retryable: bool
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class JobRuntime:
    """Per-job objects that are not state: the tenant's SDP client and its link builder."""

    sdp: ServiceDeskClient
    ticket_url: Callable[[str], str]


class EnhancementState(TypedDict, total=False):
    """What flows through the graph; parallel nodes write disjoint keys or merged dicts."""

    job: JobInfo
    ticket: TicketInfo
    context_deadline: float
    similar_tickets: tuple[SimilarTicket, ...]
    kb_articles: tuple[KBArticle, ...]
    ip_lookup: IPLookupResult
    outcomes: Annotated[dict[str, NodeOutcome], merge_dicts]
    timings: Annotated[dict[str, int], merge_dicts]
    synthesis: Synthesis
    note_html: str
    note_id: str
    note_reused: bool
    failure: JobFailure
