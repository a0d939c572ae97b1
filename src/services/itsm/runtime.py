"""Build the ITSM service from settings; it owns one HTTP client per configured platform."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from src.config import Settings
from src.database.session import SessionFactory
from src.errors import ConfigError
from src.services.http import RetryPolicy, Sleep, make_http_client
from src.services.itsm.jira import JiraClient
from src.services.itsm.service import ItsmService
from src.services.itsm.servicenow import ServiceNowClient
from src.services.itsm.templates import TemplateCatalog, load_catalog
from src.services.itsm.types import ItsmClient, Platform


def _check_complete(settings: Settings) -> None:
    groups = {
        "SERVICENOW_INSTANCE": ("SERVICENOW_USERNAME", "SERVICENOW_PASSWORD"),
        "JIRA_URL": ("JIRA_EMAIL", "JIRA_API_TOKEN"),
    }
    for anchor, needed in groups.items():
        if getattr(settings, anchor.lower()) is None:
            continue
        missing = [name for name in needed if getattr(settings, name.lower()) is None]
        if missing:
            raise ConfigError(f"{anchor} is set but {' and '.join(missing)} missing")


@asynccontextmanager
async def open_itsm(
    settings: Settings,
    session_factory: SessionFactory,
    *,
    catalog: TemplateCatalog | None = None,
    sleep: Sleep = asyncio.sleep,
) -> AsyncIterator[ItsmService]:
    """The service with clients for each configured platform, closed on exit.

    Raises:
        ConfigError: Templates file invalid, or a platform only half configured.
    """
    _check_complete(settings)
    catalog = catalog or load_catalog(settings.itsm_config_path)
    policy = RetryPolicy.from_itsm_settings(settings)
    clients: dict[Platform, ItsmClient] = {}
    async with AsyncExitStack() as stack:
        if settings.servicenow_instance and settings.servicenow_password:
            http = await stack.enter_async_context(
                make_http_client(timeout=settings.servicenow_timeout, verify=settings.verify_ssl)
            )
            clients["servicenow"] = ServiceNowClient(
                http,
                base_url=settings.servicenow_instance,
                username=settings.servicenow_username or "",
                password=settings.servicenow_password.get_secret_value(),
                policy=policy,
                total_timeout=settings.itsm_total_timeout,
                sleep=sleep,
            )
        if settings.jira_url and settings.jira_api_token:
            http = await stack.enter_async_context(
                make_http_client(timeout=settings.jira_timeout, verify=settings.verify_ssl)
            )
            clients["jira"] = JiraClient(
                http,
                base_url=settings.jira_url,
                email=settings.jira_email or "",
                api_token=settings.jira_api_token.get_secret_value(),
                policy=policy,
                total_timeout=settings.itsm_total_timeout,
                sleep=sleep,
            )
        yield ItsmService(session_factory=session_factory, catalog=catalog, clients=clients)
