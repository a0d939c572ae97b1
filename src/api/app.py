"""``create_app(settings, queue)``: the FastAPI application, built without side effects.

The queue is given, not chosen here, so the API never runs the graph itself: ``enhancer
serve`` passes the embedded pool (default) or a null queue when external workers run jobs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from src.api.deps import AppState
from src.api.errors import install_error_handlers
from src.api.intake import Handoff, JobIntake
from src.api.metrics_middleware import MetricsMiddleware
from src.api.middleware import CorrelationIdMiddleware
from src.api.routes import enhancements, health, itsm, itsm_ui, llm, metrics, webhooks
from src.api.webhook_asgi import EnhancerApp
from src.config import Settings
from src.database.crypto import SecretBox
from src.database.session import make_engine, make_session_factory
from src.database.tenant_cache import TenantCache
from src.gc_policy import freeze_startup_objects
from src.queue.base import JobQueue, NullQueue


def create_app(
    settings: Settings,
    *,
    queue: JobQueue | None = None,
    engine: AsyncEngine | None = None,
    dispose_engine: bool | None = None,
    intake_engine: AsyncEngine | None = None,
    intake_handoff: Handoff | None = None,
) -> FastAPI:
    """Build the app; the queue starts and stops with it.

    A given ``engine`` (and ``intake_engine``, the single-statement pool webhook intake uses
    when given) is disposed at shutdown only when ``dispose_engine`` is true. New jobs go to
    ``intake_handoff`` once committed (the dispatcher's ``hand_over``; see ``src.api.intake``).
    """
    owns_engine = engine is None if dispose_engine is None else dispose_engine
    engine = engine or make_engine(settings)
    factory = make_session_factory(engine)
    box = SecretBox(settings.encryption_key)
    state = AppState(
        settings=settings,
        session_factory=factory,
        box=box,
        queue=queue or NullQueue(),
        tenants=TenantCache(factory, box, settings.tenant_cache_seconds),
        intake=JobIntake(
            make_session_factory(intake_engine) if intake_engine else factory, intake_handoff
        ),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await state.queue.start()
        # Everything loaded so far (the libraries, the app) lives as long as the process: keep
        # it out of the garbage collector's full passes, which otherwise stall every request.
        freeze_startup_objects()
        try:
            yield
        finally:
            await state.intake.close()
            await state.queue.stop()
            if owns_engine:
                await engine.dispose()
                if intake_engine is not None:
                    await intake_engine.dispose()

    # Prometheus and structlog are our telemetry; FastAPI's native OpenTelemetry would look up
    # its providers (environment reads) on every request.
    app = EnhancerApp(
        title="Enhancer",
        version="0.1.0",
        lifespan=lifespan,
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.enhancer = state
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(webhooks.router)  # documents the webhook; EnhancerApp answers it
    app.include_router(enhancements.router)
    app.include_router(llm.router)
    app.include_router(metrics.router)
    app.include_router(itsm.router)
    app.include_router(itsm_ui.router)
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(CorrelationIdMiddleware)
    return app
