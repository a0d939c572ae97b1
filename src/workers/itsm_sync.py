"""Periodic ITSM sync in workers: read ticket state back from ServiceNow and Jira (SLA times).

Runs every ``ITSM_SYNC_INTERVAL_SECONDS`` from Celery beat (scaled) or the embedded pool, and
only when a platform is configured. ``enhancer itsm sync`` does the same by hand.
"""

from __future__ import annotations

from src.config import Settings
from src.database.session import SessionFactory
from src.services.itsm.runtime import open_itsm
from src.services.itsm.sync import sync_once


def itsm_configured(settings: Settings) -> bool:
    """True when at least one ITSM platform has credentials."""
    return bool(
        (settings.servicenow_instance and settings.servicenow_password)
        or (settings.jira_url and settings.jira_api_token)
    )


async def run_itsm_sync(settings: Settings, factory: SessionFactory) -> int:
    """One sync pass; returns how many tickets were checked (0 when nothing is configured)."""
    if not itsm_configured(settings):
        return 0
    async with open_itsm(settings, factory) as service:
        report = await sync_once(service)  # logs itsm_sync_done
    return report.checked
