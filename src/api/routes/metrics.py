"""``GET /metrics``: Prometheus text for this process, or for all processes in multiproc mode."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client.metrics_core import Metric
from sqlalchemy.exc import SQLAlchemyError

from src.api.deps import State
from src.database.repositories.stats import queue_stats
from src.logging import get_logger
from src.observability.metrics import CONTENT_TYPE_LATEST, queue_families, render

router = APIRouter()
log = get_logger(__name__)


@router.get("/metrics", include_in_schema=False)
async def metrics(state: State) -> Response:
    """Every metric, plus queue depth and oldest pending age read from the database now.

    When the database cannot be read the queue gauges are left out (their absence is what
    the ``absent()`` alert looks for) and the rest is still served.
    """
    extra: list[Metric] = []
    try:
        async with state.session_factory() as session:
            stats = await queue_stats(session)
    except (SQLAlchemyError, OSError) as exc:
        log.warning("metrics_queue_stats_failed", error=str(exc)[:300])
    else:
        extra = queue_families(stats.depth, stats.oldest_pending_age_seconds)
    body = render(state.settings.prometheus_multiproc_dir, extra)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
