"""Request and response bodies of the ITSM routes (``/api/v1/tickets``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from src.database.models import ItsmTicket
from src.services.itsm.sla import sla_view
from src.services.itsm.types import Platform


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TicketCreate(_Strict):
    """``POST /api/v1/tickets``: the platform's own fields, flat (see ``validation``)."""

    platform: Platform
    job_id: str | None = None
    payload: dict[str, Any]


class TemplateCreate(_Strict):
    """``POST /api/v1/tickets/from-template``."""

    platform: Platform
    template_name: str = Field(min_length=1, max_length=100)
    job_id: str | None = None
    variables: dict[str, str] = Field(default_factory=dict)
    dry_run: StrictBool = False


class ToggleUpdate(_Strict):
    """``PUT /api/v1/tickets/toggle``: omitted platforms keep their state."""

    servicenow_enabled: StrictBool | None = None
    jira_enabled: StrictBool | None = None


class Toggles(BaseModel):
    """Which platforms accept new tickets."""

    servicenow_enabled: bool
    jira_enabled: bool


class SlaInfo(BaseModel):
    """Targets for the ticket's priority and whether they are (or were) missed."""

    acknowledge_target_s: float | None
    resolve_target_s: float | None
    acknowledge_breached: bool | None
    resolve_breached: bool | None


class TicketView(BaseModel):
    """One stored ticket with its retry metadata and SLA state."""

    id: str
    platform: str
    job_id: str | None
    template_name: str | None
    status: str
    priority: str | None
    external_id: str | None
    key: str | None
    url: str | None
    remote_state: str | None
    attempts: int
    retry_delay_s: float
    last_error: str | None
    created_at: datetime
    synced_at: datetime | None
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    time_to_acknowledge: float | None
    time_to_resolve: float | None
    sla: SlaInfo

    @classmethod
    def of(cls, row: ItsmTicket) -> TicketView:
        """The view of a stored row."""
        view = sla_view(
            priority=row.priority,
            created_at=row.created_at,
            acknowledged_at=row.acknowledged_at,
            resolved_at=row.resolved_at,
        )
        return cls(
            id=row.id,
            platform=row.platform,
            job_id=row.job_id,
            template_name=row.template_name,
            status=row.status,
            priority=row.priority,
            external_id=row.external_id,
            key=row.external_key,
            url=row.url,
            remote_state=row.remote_state,
            attempts=row.attempts,
            retry_delay_s=round(row.retry_delay_s, 3),
            last_error=row.last_error,
            created_at=row.created_at,
            synced_at=row.synced_at,
            acknowledged_at=row.acknowledged_at,
            resolved_at=row.resolved_at,
            time_to_acknowledge=row.time_to_acknowledge,
            time_to_resolve=row.time_to_resolve,
            sla=SlaInfo(
                acknowledge_target_s=view.acknowledge_target_s,
                resolve_target_s=view.resolve_target_s,
                acknowledge_breached=view.acknowledge_breached,
                resolve_breached=view.resolve_breached,
            ),
        )


class DryRun(BaseModel):
    """A rendered template that was validated but not sent."""

    dry_run: bool = True
    platform: str
    template_name: str
    payload: dict[str, Any]
    request_body: dict[str, Any]
