"""Create ITSM tickets: toggles, validation, templates, the platform call, metrics, the row.

Every attempt that reaches a platform is stored in ``itsm_tickets``, failed ones too (with
attempts, retry delay and the last error), and counted in the ``itsm_*`` metrics, so no
failure is silent. Bad input never reaches a platform: it raises ``ValidationFailed``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from src.database.models import ItsmTicket, utcnow
from src.database.repositories import itsm as repo
from src.database.session import SessionFactory, transaction
from src.errors import ExternalServiceError, FeatureDisabled, ValidationFailed
from src.logging import get_logger
from src.observability import metrics
from src.services.itsm.templates import TemplateCatalog
from src.services.itsm.types import PLATFORMS, SERVICE_NAMES, ItsmClient, Payload, Platform
from src.services.itsm.validation import validate

_log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Preview:
    """A rendered, validated template payload that was not sent (``dry_run``)."""

    platform: Platform
    template_name: str
    payload: Payload


class ItsmService:
    """The one way tickets are opened, from the API, the UI or a job."""

    def __init__(
        self,
        *,
        session_factory: SessionFactory,
        catalog: TemplateCatalog,
        clients: Mapping[Platform, ItsmClient],
    ) -> None:
        self.session_factory = session_factory
        self.catalog = catalog
        self.clients = dict(clients)

    def client_for(self, platform: str) -> ItsmClient | None:
        """The client of ``platform`` when it is configured."""
        return next((c for p, c in self.clients.items() if p == platform), None)

    async def toggles(self) -> dict[str, bool]:
        """``{"servicenow_enabled": ..., "jira_enabled": ...}`` as stored."""
        async with self.session_factory() as session:
            return {
                f"{p}_enabled": await repo.platform_enabled(session, platform=p) for p in PLATFORMS
            }

    async def set_toggles(
        self, changes: Mapping[Platform, bool], *, updated_by: str | None = None
    ) -> dict[str, bool]:
        """Apply ``changes`` for every process; returns the full state afterwards."""
        async with transaction(self.session_factory) as session:
            for platform, enabled in changes.items():
                await repo.set_platform_enabled(
                    session, platform=platform, enabled=enabled, updated_by=updated_by
                )
        _log.info("itsm_toggles_changed", changes=dict(changes), updated_by=updated_by)
        return await self.toggles()

    def check(self, platform: Platform, payload: Payload, *, job_id: str | None) -> None:
        """Validate, counting each field problem in ``itsm_validation_errors_total``."""
        try:
            validate(platform, payload, job_id=job_id)
        except ValidationFailed as exc:
            for error in exc.errors:
                metrics.ITSM_VALIDATION_ERRORS.labels(platform=platform, field=error.field).inc()
            _log.info("itsm_validation_failed", platform=platform, errors=len(exc.errors))
            raise

    def render(self, platform: Platform, template_name: str, variables: dict[str, str]) -> Payload:
        """The template's payload for ``variables``; ``NotFoundError`` for an unknown name."""
        template = self.catalog.get(platform, template_name)
        try:
            return self.catalog.render(template, variables)
        except ValidationFailed:
            metrics.ITSM_TEMPLATE_ERRORS.labels(template_name=template_name).inc()
            _log.info("itsm_template_rendering_failed", template=template_name)
            raise

    async def preview(
        self,
        platform: Platform,
        template_name: str,
        variables: dict[str, str],
        *,
        job_id: str | None = None,
    ) -> Preview:
        """Render and validate without calling anything (``dry_run``; allowed when disabled)."""
        payload = self.render(platform, template_name, variables)
        self.check(platform, payload, job_id=job_id)
        return Preview(platform, template_name, payload)

    async def create_from_template(
        self,
        platform: Platform,
        template_name: str,
        variables: dict[str, str],
        *,
        job_id: str | None = None,
        ticket_id: str | None = None,
    ) -> ItsmTicket:
        """Render, validate and create (see :meth:`create`)."""
        preview = await self.preview(platform, template_name, variables, job_id=job_id)
        return await self.create(
            platform,
            preview.payload,
            job_id=job_id,
            template_name=template_name,
            ticket_id=ticket_id,
        )

    async def _client(self, platform: Platform) -> ItsmClient:
        client = self.client_for(platform)
        name = SERVICE_NAMES[platform]
        if client is None:
            raise FeatureDisabled(f"{name} is not configured on this server")
        async with self.session_factory() as session:
            if not await repo.platform_enabled(session, platform=platform):
                raise FeatureDisabled(
                    f"{name} ticket creation is switched off "
                    f"(PUT /api/v1/tickets/toggle with {platform}_enabled=true to resume)"
                )
        return client

    async def create(
        self,
        platform: Platform,
        payload: Payload,
        *,
        job_id: str | None = None,
        template_name: str | None = None,
        ticket_id: str | None = None,
    ) -> ItsmTicket:
        """Validate, create on ``platform`` and store the outcome under ``ticket_id``.

        Raises:
            ValidationFailed: Bad input; nothing was sent or stored.
            FeatureDisabled: Platform off or not configured; nothing was sent or stored.
            ExternalServiceError: The platform failed; the failure is stored under
                ``ticket_id`` and the error carries ``attempts`` and ``retry_delay_s``.
        """
        self.check(platform, payload, job_id=job_id)
        client = await self._client(platform)
        row = ItsmTicket(
            id=ticket_id or str(uuid.uuid4()),
            platform=platform,
            job_id=job_id,
            template_name=template_name,
            payload=payload,
            created_at=utcnow(),
        )
        started = time.monotonic()
        try:
            created = await client.create(payload)
        except ExternalServiceError as exc:
            row.status, row.attempts, row.retry_delay_s = "failed", exc.attempts, exc.retry_delay_s
            row.last_error, row.error_status = str(exc), exc.status_code
            self._observe(platform, "failure", started, exc.attempts)
            _log.error(
                "itsm_ticket_failed",
                platform=platform,
                ticket_id=row.id,
                attempts=exc.attempts,
                retry_delay_s=round(exc.retry_delay_s, 3),
                error=str(exc),
            )
            await self._store(row)
            raise
        row.status, row.attempts, row.retry_delay_s = (
            "created",
            created.attempts,
            created.retry_delay_s,
        )
        row.last_error = created.last_error
        row.external_id, row.external_key, row.url = created.external_id, created.key, created.url
        row.priority, row.remote_state = created.priority, created.remote_state
        self._observe(platform, "success", started, created.attempts)
        _log.info(
            "itsm_ticket_created",
            platform=platform,
            ticket_id=row.id,
            key=created.key,
            attempts=created.attempts,
        )
        return await self._store(row)

    async def _store(self, row: ItsmTicket) -> ItsmTicket:
        async with transaction(self.session_factory) as session:
            return await repo.add_ticket(session, ticket=row)

    @staticmethod
    def _observe(platform: Platform, outcome: str, started: float, attempts: int) -> None:
        metrics.ITSM_CREATIONS.labels(platform=platform, outcome=outcome).inc()
        metrics.ITSM_CREATION_DURATION.labels(platform=platform).observe(time.monotonic() - started)
        if attempts > 1:
            metrics.ITSM_RETRIES.labels(platform=platform).inc(attempts - 1)
