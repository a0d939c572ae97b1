"""Fixtures for end-to-end tests: fake SDP and LLM servers and the product's settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from src.config import Settings
from tests.conftest import make_settings
from tests.fakes.llm import RunningLLM, running_llm
from tests.fakes.sdp import RunningSDP, running_sdp


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
