"""``build_graph(deps)``: the enhancement graph, wired from the dependencies it is given.

::

    fetch_ticket ─┬─ similar_tickets ─┐
                  ├─ kb_search ───────┼─ synthesize ── write_back
                  └─ ip_lookup ───────┘
    (a failed fetch ends the graph; the runner records the failure)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langgraph.graph import END, START, StateGraph

from src.config import Settings
from src.database.session import Connections
from src.graph.state import EnhancementState, JobRuntime
from src.nodes.context import make_context_node
from src.nodes.fetch_ticket import make_fetch_ticket
from src.nodes.sources import ContextSources
from src.nodes.synthesize import Synthesizer, make_synthesize
from src.nodes.write_back import write_back

_CONTEXT = (
    ("similar_tickets", "similar_tickets"),
    ("kb_search", "kb_articles"),
    ("ip_lookup", "ip_lookup"),
)


@dataclass(frozen=True, slots=True)
class GraphDeps:
    """Process-wide objects the nodes use; per-job objects travel in ``JobRuntime``."""

    settings: Settings
    connections: Connections
    synthesizer: Synthesizer
    sources: ContextSources


def _after_fetch(state: EnhancementState) -> list[str] | str:
    if "failure" in state:
        return END
    return [name for name, _ in _CONTEXT]


def build_graph(deps: GraphDeps) -> Any:
    """Compile the graph; invoke it with ``context=JobRuntime(...)``."""
    graph = StateGraph(EnhancementState, context_schema=JobRuntime)
    graph.add_node("fetch_ticket", make_fetch_ticket(deps.settings, deps.connections))
    budget = deps.settings.context_timeout_seconds
    for name, key in _CONTEXT:
        source = getattr(deps.sources, name)
        graph.add_node(name, make_context_node(name, key, source, budget))
    graph.add_node("synthesize", make_synthesize(deps.settings, deps.synthesizer))
    graph.add_node("write_back", write_back)
    graph.add_edge(START, "fetch_ticket")
    graph.add_conditional_edges("fetch_ticket", _after_fetch, [*(n for n, _ in _CONTEXT), END])
    graph.add_edge([name for name, _ in _CONTEXT], "synthesize")
    graph.add_edge("synthesize", "write_back")
    graph.add_edge("write_back", END)
    return graph.compile()
