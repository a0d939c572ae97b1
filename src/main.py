"""The composition root: which queue and worker the API runs with.

Embedded default (``EMBEDDED_WORKER=true``): the API process also runs the in-process worker
pool. Otherwise jobs stay in the database for external workers.
"""

from __future__ import annotations

from fastapi import FastAPI

from src.api.app import create_app
from src.config import Settings
from src.database.session import make_engine, make_session_factory
from src.nodes.sources import ContextSources
from src.nodes.synthesize import Synthesizer
from src.queue.base import JobQueue, NullQueue
from src.queue.embedded import EmbeddedWorkerPool
from src.workers.runtime import build_worker


def build_app(
    settings: Settings,
    *,
    synthesizer: Synthesizer | None = None,
    sources: ContextSources | None = None,
) -> FastAPI:
    """The API, with the embedded worker pool when configured; tests may pass fakes."""
    engine = make_engine(settings)
    queue: JobQueue = NullQueue()
    if settings.embedded_worker:
        worker = build_worker(settings, engine=engine, synthesizer=synthesizer, sources=sources)
        queue = EmbeddedWorkerPool(
            make_session_factory(engine),
            worker.run,
            concurrency=settings.worker_concurrency,
            poll_seconds=settings.worker_poll_seconds,
            on_stop=worker.close,
        )
    return create_app(settings, queue=queue, engine=engine, dispose_engine=True)
