"""SLA targets per priority (the ITSM runbook's P1-P4), state mapping and breach flags.

Priorities are normalised to ``P1``..``P4``: ServiceNow's computed priority 1-Critical..
5-Planning (5 counts as P4) and Jira's Highest/High/Medium/Low/Lowest (Lowest counts as P4).
Breach flags are derived on read, so a ticket still open past its target shows as breached
without waiting for a sync.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from src.database.models.base import utcnow

ACKNOWLEDGE_TARGETS: dict[str, timedelta] = {
    "P1": timedelta(minutes=15),
    "P2": timedelta(minutes=30),
    "P3": timedelta(hours=2),
    "P4": timedelta(hours=8),
}
RESOLVE_TARGETS: dict[str, timedelta] = {
    "P1": timedelta(hours=4),
    "P2": timedelta(hours=24),
    "P3": timedelta(hours=72),
    "P4": timedelta(weeks=1),
}

_SERVICENOW_PRIORITY = {"1": "P1", "2": "P2", "3": "P3", "4": "P4", "5": "P4"}
_JIRA_PRIORITY = {"Highest": "P1", "High": "P2", "Medium": "P3", "Low": "P4", "Lowest": "P4"}

# ServiceNow incident ``state``: 1 New, 2 In Progress, 3 On Hold, 6 Resolved, 7 Closed,
# 8 Canceled. Anything past New means a person picked it up.
SERVICENOW_ACKNOWLEDGED = frozenset({"2", "3", "6", "7"})
SERVICENOW_RESOLVED = frozenset({"6", "7"})
SERVICENOW_FINAL = frozenset({"7", "8"})
# Jira status categories: new (To Do), indeterminate (In Progress), done.
JIRA_ACKNOWLEDGED = frozenset({"indeterminate", "done"})
JIRA_RESOLVED = frozenset({"done"})


def servicenow_priority(value: object) -> str | None:
    """``P1``..``P4`` from ServiceNow's ``priority`` ("1".."5")."""
    return _SERVICENOW_PRIORITY.get(str(value)) if value is not None else None


def jira_priority(value: object) -> str | None:
    """``P1``..``P4`` from a Jira priority name."""
    return _JIRA_PRIORITY.get(str(value)) if value is not None else None


@dataclass(frozen=True, slots=True)
class SlaView:
    """Targets and whether they are (or were) missed; None when the priority is unknown."""

    acknowledge_target_s: float | None
    resolve_target_s: float | None
    acknowledge_breached: bool | None
    resolve_breached: bool | None


def _breached(
    created: datetime, done_at: datetime | None, target: timedelta | None, now: datetime
) -> bool | None:
    if target is None:
        return None
    return ((done_at or now) - created) > target


def sla_view(
    *,
    priority: str | None,
    created_at: datetime,
    acknowledged_at: datetime | None,
    resolved_at: datetime | None,
    now: datetime | None = None,
) -> SlaView:
    """Targets for ``priority`` and breach flags as of ``now``."""
    now = now or utcnow()
    ack = ACKNOWLEDGE_TARGETS.get(priority or "")
    res = RESOLVE_TARGETS.get(priority or "")
    return SlaView(
        acknowledge_target_s=ack.total_seconds() if ack else None,
        resolve_target_s=res.total_seconds() if res else None,
        acknowledge_breached=_breached(created_at, acknowledged_at, ack, now),
        resolve_breached=_breached(created_at, resolved_at, res, now),
    )
