"""Build a worker process's dependencies once (engine, HTTP client, breaker, graph)."""

from __future__ import annotations

from dataclasses import dataclass

import pybreaker
from sqlalchemy.ext.asyncio import AsyncEngine

from src.config import Settings
from src.database.crypto import SecretBox
from src.database.session import (
    make_autocommit_engine,
    make_connections,
    make_engine,
    make_session_factory,
)
from src.database.tenant_cache import TenantCache
from src.graph.builder import GraphDeps, build_graph
from src.nodes.sources import ContextSources, database_sources
from src.nodes.synthesize import Synthesizer
from src.services.breaker_storage import redis_breaker_state
from src.services.circuit_breaker import BREAKER_NAME, make_llm_breaker
from src.services.http import make_http_client
from src.services.llm_synthesis import LLMSynthesizer
from src.workers.runner import WorkerDeps, run_enhancement
from src.workers.switches import LLM_FLAG, CachedFlag


@dataclass(frozen=True, slots=True)
class Worker:
    """A process's worker: its dependencies and the engine/client to close at shutdown."""

    deps: WorkerDeps
    engine: AsyncEngine
    owns_engine: bool
    synthesizer: LLMSynthesizer | None
    statement_engine: AsyncEngine | None = None

    async def run(self, job_id: str) -> str | None:
        """Run one job (see ``run_enhancement``)."""
        return await run_enhancement(job_id, self.deps)

    async def close(self) -> None:
        """Release the HTTP client and, if this worker made it, the engine."""
        await self.deps.http.aclose()
        if self.synthesizer is not None:
            await self.synthesizer.aclose()
        if self.owns_engine:
            await self.engine.dispose()
        if self.statement_engine is not None:
            await self.statement_engine.dispose()


def _shared_breaker_state(settings: Settings) -> pybreaker.CircuitBreakerStorage | None:
    """Breaker state in Redis when configured, so one outage opens it for every worker.

    The embedded default keeps the state in memory (None).
    """
    if not settings.redis_url:
        return None
    return redis_breaker_state(settings.redis_url, BREAKER_NAME)


def build_worker(
    settings: Settings,
    *,
    engine: AsyncEngine | None = None,
    synthesizer: Synthesizer | None = None,
    sources: ContextSources | None = None,
) -> Worker:
    """Wire a worker; tests and benchmarks may pass their own synthesizer or sources.

    On PostgreSQL, a job's own database work (claim, ticket upsert, context searches, finish:
    each one statement) runs on an autocommit pool (``make_autocommit_engine``); measured with
    ``bench/throughput.py``, the ``BEGIN``/``COMMIT`` and in-transaction pre-ping round trips
    were a large share of the worker's CPU per job.
    """
    owns_engine = engine is None
    engine = engine or make_engine(settings)
    factory = make_session_factory(engine)
    # Every connection stays open: under a full worker (WORKER_CONCURRENCY jobs in flight),
    # overflow connections were closed on return and reopened at once, each reconnect paying
    # for TLS negotiation, type introspection and re-preparing every statement.
    statements = make_autocommit_engine(
        settings, pool_size=settings.db_pool_size + settings.db_max_overflow, max_overflow=0
    )
    job_factory = make_session_factory(statements) if statements is not None else factory
    # A job's own statements go through bare connections, not ORM sessions (make_connections);
    # the context sources only read, so on SQLite they run outside a transaction as well.
    connections = make_connections(statements or engine, autocommit=statements is not None)
    reads = connections
    if statements is None:
        reads = make_connections(
            engine.execution_options(isolation_level="AUTOCOMMIT"), autocommit=True
        )
    own_synthesizer = None
    if synthesizer is None:
        own_synthesizer = LLMSynthesizer(
            settings,
            make_llm_breaker(settings, state_storage=_shared_breaker_state(settings)),
            runtime_disabled=CachedFlag(
                job_factory, LLM_FLAG, ttl_seconds=settings.runtime_flag_cache_seconds
            ),
        )
        synthesizer = own_synthesizer
    graph = build_graph(
        GraphDeps(
            settings=settings,
            connections=connections,
            synthesizer=synthesizer,
            sources=sources or database_sources(settings, reads),
        )
    )
    deps = WorkerDeps(
        settings=settings,
        session_factory=factory,
        job_connections=connections,
        tenants=TenantCache(
            job_factory, SecretBox(settings.encryption_key), settings.tenant_cache_seconds
        ),
        http=make_http_client(timeout=settings.sdp_timeout_seconds, verify=settings.verify_ssl),
        graph=graph,
    )
    return Worker(
        deps=deps,
        engine=engine,
        owns_engine=owns_engine,
        synthesizer=own_synthesizer,
        statement_engine=statements,
    )
