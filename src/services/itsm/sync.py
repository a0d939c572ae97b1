"""Read ticket state back from ServiceNow and Jira and fill the SLA timestamps.

Run by ``enhancer itsm sync`` (once, or every ``--interval`` seconds) and suitable for a
periodic worker task. A ticket counts as acknowledged the first time a sync sees it out of
New (ServiceNow state 2/3/6/7, Jira category ``indeterminate``/``done``) and as resolved when
ServiceNow says 6/7 or Jira says ``done``; the platform's own resolution time is used when it
reports one, the sync time otherwise. A platform that cannot be read is reported, never
skipped silently, and its tickets are tried again on the next run.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from src.database.models import ItsmTicket, utcnow
from src.database.repositories import itsm as repo
from src.database.session import transaction
from src.errors import ExternalServiceError
from src.logging import get_logger
from src.observability import metrics
from src.services.itsm.service import ItsmService
from src.services.itsm.types import RemoteStatus

_log = get_logger(__name__)
_CONCURRENCY = 10


@dataclass
class SyncReport:
    """What one sync run did."""

    checked: int = 0
    acknowledged: int = 0
    resolved: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def apply_status(row: ItsmTicket, status: RemoteStatus, now: datetime) -> tuple[bool, bool]:
    """Update ``row`` from ``status``; returns (newly acknowledged, newly resolved)."""
    row.remote_state, row.synced_at = status.state, now
    acked = resolved = False
    done_at = min(status.resolved_at or now, now)
    if status.resolved and row.resolved_at is None:
        row.resolved_at = max(done_at, row.created_at)
        row.time_to_resolve = (row.resolved_at - row.created_at).total_seconds()
        resolved = True
    if (status.acknowledged or status.resolved) and row.acknowledged_at is None:
        row.acknowledged_at = row.resolved_at if resolved else now
        assert row.acknowledged_at is not None
        row.time_to_acknowledge = (row.acknowledged_at - row.created_at).total_seconds()
        acked = True
    return acked, resolved


async def sync_once(service: ItsmService, *, limit: int = 500) -> SyncReport:
    """One pass over unresolved tickets."""
    report = SyncReport()
    async with service.session_factory() as session:
        rows = list(await repo.list_unresolved(session, limit=limit))
    gate = asyncio.Semaphore(_CONCURRENCY)

    async def read(row: ItsmTicket) -> RemoteStatus | None:
        client = service.client_for(row.platform)
        if client is None or row.external_id is None:
            report.errors.append(f"{row.id}: {row.platform} is not configured")
            return None
        async with gate:
            try:
                status: RemoteStatus = await client.status(row.external_id)
            except ExternalServiceError as exc:
                report.errors.append(f"{row.id} ({row.external_key}): {exc}")
                _log.warning("itsm_sync_failed", ticket_id=row.id, error=str(exc))
                return None
        return status

    statuses = await asyncio.gather(*(read(row) for row in rows))
    now = utcnow()
    async with transaction(service.session_factory) as session:
        for row, status in zip(rows, statuses, strict=True):
            if status is None:
                report.failed += 1
                continue
            report.checked += 1
            stored = await repo.get_ticket(session, ticket_id=row.id)
            assert stored is not None
            acked, resolved = apply_status(stored, status, now)
            labels = {"platform": stored.platform, "priority": stored.priority or "unknown"}
            if acked and stored.time_to_acknowledge is not None:
                report.acknowledged += 1
                metrics.ITSM_TIME_TO_ACKNOWLEDGE.labels(**labels).observe(
                    stored.time_to_acknowledge
                )
            if resolved and stored.time_to_resolve is not None:
                report.resolved += 1
                metrics.ITSM_TIME_TO_RESOLVE.labels(**labels).observe(stored.time_to_resolve)
    _log.info(
        "itsm_sync_done",
        checked=report.checked,
        acknowledged=report.acknowledged,
        resolved=report.resolved,
        failed=report.failed,
        errors=report.errors[:5],
    )
    return report
