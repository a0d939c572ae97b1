"""Fixtures for end-to-end tests: fake SDP and LLM servers and the product's settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from src.config import Settings
from tests.conftest import make_settings
from tests.fakes.llm import RunningLLM, running_llm
from tests.fakes.sdp import RunningSDP, running_sdp
from tests.integration.scaled import PrivateRedis, private_redis


@pytest.fixture
def sdp() -> Iterator[RunningSDP]:
    """A fresh SDP simulator on a real port."""
    with running_sdp() as running:
        yield running


@pytest.fixture
def llm() -> Iterator[RunningLLM]:
    """A fresh OpenAI-compatible fake on a real port."""
    with running_llm() as running:
        yield running


@pytest.fixture
def settings(sqlite_url: str, tmp_path: Path) -> Settings:
    """Embedded-default settings on a migrated SQLite file, LLM not configured."""
    return make_settings(tmp_path, database_url=sqlite_url)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A private redis-server this test may stop, restart or flush."""
    with private_redis(tmp_path) as server:
        yield server


@pytest.fixture
def scaled_settings(tmp_path: Path, postgres_url: str, redis_server: PrivateRedis) -> Settings:
    """The scaled deployment: PostgreSQL + Redis + Celery, with short reconcile/lease times."""
    return make_settings(
        tmp_path,
        database_url=postgres_url,
        redis_url=redis_server.url,
        embedded_worker=False,
        dispatcher_poll_seconds=0.1,
        reconcile_interval_seconds=0.5,
        reconcile_pending_after_seconds=2,
        job_lease_seconds=4,
        enhancement_retry_delay=0.5,
    )
