"""Fixtures for outbound ITSM: fake ServiceNow and Jira on real ports, the API against them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from src.config import Settings
from src.database.migrate import upgrade
from tests.conftest import make_settings
from tests.fakes import jira as fake_jira
from tests.fakes import servicenow as fake_sn
from tests.fakes.jira import RunningJira, running_jira
from tests.fakes.servicenow import RunningServiceNow, running_servicenow
from tests.integration.harness import RunningAPI, running_api

ADMIN_TOKEN = "test-admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

SN_PAYLOAD: dict[str, Any] = {
    "short_description": "Payment API returns 500 for all card payments",
    "description": "Checkout fails since 09:40 UTC.\nError rate 100 %.",
    "urgency": "1",
    "impact": "1",
    "category": "software",
}
JIRA_PAYLOAD: dict[str, Any] = {
    "project": "OPS",
    "summary": "Checkout fails with 500 on card payments",
    "issuetype": "Bug",
    "priority": "High",
    "labels": ["enhancer", "payments"],
    "description": "Users cannot pay.\nSince 09:40 UTC.\n\nSeen by Enhancer.",
}


def itsm_settings(
    tmp_path: Path, sqlite_url: str, sn: RunningServiceNow, jira: RunningJira, **extra: object
) -> Settings:
    """Settings pointing at both fakes, with quick retries."""
    values: dict[str, object] = {
        "database_url": sqlite_url,
        "servicenow_instance": sn.base_url,
        "servicenow_username": fake_sn.USERNAME,
        "servicenow_password": fake_sn.PASSWORD,
        "jira_url": jira.base_url,
        "jira_email": fake_jira.EMAIL,
        "jira_api_token": fake_jira.API_TOKEN,
        "itsm_retry_delay": 0.01,
        "itsm_retry_max_delay": 2.0,
        "embedded_worker": False,
    }
    values.update(extra)
    return make_settings(tmp_path, **values)


@pytest.fixture(scope="module")
def servicenow() -> Iterator[RunningServiceNow]:
    """A fake ServiceNow instance shared by a module's tests (reset before each)."""
    with running_servicenow() as running:
        yield running


@pytest.fixture(scope="module")
def jira() -> Iterator[RunningJira]:
    """A fake Jira site shared by a module's tests (reset before each)."""
    with running_jira() as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh_fakes(servicenow: RunningServiceNow, jira: RunningJira) -> None:
    servicenow.state.reset()
    jira.state.reset()


ApiFactory = Callable[..., RunningAPI]


@pytest.fixture
def start_api(
    tmp_path: Path, sqlite_url: str, servicenow: RunningServiceNow, jira: RunningJira
) -> Iterator[ApiFactory]:
    """Start an API with its own database; keyword arguments override settings."""
    with ExitStack() as stack:

        def start(**extra: object) -> RunningAPI:
            settings = itsm_settings(tmp_path, sqlite_url, servicenow, jira, **extra)
            return stack.enter_context(running_api(settings))

        yield start


@pytest.fixture(scope="module")
def api(
    tmp_path_factory: pytest.TempPathFactory, servicenow: RunningServiceNow, jira: RunningJira
) -> Iterator[RunningAPI]:
    """The API with default ITSM settings, shared by a module's tests (do not flip toggles)."""
    tmp_path = tmp_path_factory.mktemp("itsm-api")
    url = f"sqlite+aiosqlite:///{tmp_path}/enhancer.db"
    upgrade(url)
    with running_api(itsm_settings(tmp_path, url, servicenow, jira)) as running:
        yield running


def post(api: RunningAPI, path: str, body: Any) -> httpx.Response:
    """POST with the admin token."""
    return api.client.post(path, json=body, headers=AUTH)
