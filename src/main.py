"""The composition root: which queue and worker the API runs with.

With ``CELERY_BROKER_URL``/``REDIS_URL`` set, the API publishes committed jobs to Celery through
the dispatcher and Celery workers run them. Otherwise, on the embedded default
(``EMBEDDED_WORKER=true``), the API process also runs the in-process worker pool; with neither,
jobs wait in the database.
"""

from __future__ import annotations

from fastapi import FastAPI

from src.api.app import create_app
from src.config import Settings
from src.database.session import (
    SessionFactory,
    make_autocommit_engine,
    make_engine,
    make_session_factory,
)
from src.nodes.sources import ContextSources
from src.nodes.synthesize import Synthesizer
from src.queue.base import JobQueue, NullQueue
from src.queue.dispatcher import CeleryDispatcher
from src.queue.embedded import EmbeddedWorkerPool
from src.queue.publisher import ProcessPublisher
from src.queue.redis_publisher import BROKER_SOCKET_TIMEOUT_SECONDS, RedisPublisher
from src.workers.itsm_sync import run_itsm_sync
from src.workers.reconciler import reconcile_once
from src.workers.runtime import build_worker


def celery_dispatcher(
    settings: Settings, factory: SessionFactory, outbox: SessionFactory | None = None
) -> CeleryDispatcher:
    """The scaled deployment's queue: publish the outbox to Celery, reconcile periodically.

    ``outbox`` (default ``factory``) serves the per-batch read and mark, single statements.
    """
    publisher: RedisPublisher | ProcessPublisher
    broker = settings.broker_url or ""
    if broker.startswith(("redis://", "rediss://")):
        publisher = RedisPublisher(broker, timeout_seconds=BROKER_SOCKET_TIMEOUT_SECONDS)
    else:
        publisher = ProcessPublisher(settings)

    async def reconcile() -> int:
        return await reconcile_once(factory, settings, publisher.publish)

    return CeleryDispatcher(
        outbox or factory, settings, publisher.publish, reconcile, on_stop=publisher.aclose
    )


def build_app(
    settings: Settings,
    *,
    synthesizer: Synthesizer | None = None,
    sources: ContextSources | None = None,
) -> FastAPI:
    """The API, with the embedded worker pool when configured; tests may pass fakes."""
    engine = make_engine(settings)
    single = make_autocommit_engine(settings)
    queue: JobQueue = NullQueue()
    handoff = None
    if settings.broker_url:
        outbox = make_session_factory(single) if single is not None else None
        dispatcher = celery_dispatcher(settings, make_session_factory(engine), outbox)
        queue, handoff = dispatcher, dispatcher.hand_over
    elif settings.embedded_worker:
        worker = build_worker(settings, engine=engine, synthesizer=synthesizer, sources=sources)
        factory = make_session_factory(engine)

        async def itsm_sync() -> int:
            return await run_itsm_sync(settings, factory)

        queue = EmbeddedWorkerPool(
            make_session_factory(engine),
            worker.run,
            concurrency=settings.worker_concurrency,
            poll_seconds=settings.worker_poll_seconds,
            on_stop=worker.close,
            periodic=[(settings.itsm_sync_interval_seconds, itsm_sync)],
        )
    return create_app(
        settings,
        queue=queue,
        engine=engine,
        dispose_engine=True,
        intake_engine=single,
        intake_handoff=handoff,
    )
