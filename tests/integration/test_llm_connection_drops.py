"""An LLM connection that drops without an answer is tried once more, then falls back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from src.services.circuit_breaker import make_llm_breaker
from src.services.llm_synthesis import LLMSynthesizer
from tests.fakes.dropping_proxy import dropping_proxy
from tests.fakes.llm import RunningLLM, running_llm
from tests.integration.test_llm_synthesis import llm_settings, make_context


@pytest.fixture
def llm() -> Iterator[RunningLLM]:
    with running_llm() as running:
        yield running


async def test_a_connection_dropped_unanswered_is_tried_once_more(
    tmp_path: Path, llm: RunningLLM
) -> None:
    with dropping_proxy(llm.base_url, drops=1) as proxy:
        settings = llm_settings(tmp_path, llm, openrouter_base_url=proxy.base_url)
        async with LLMSynthesizer(settings, make_llm_breaker(settings)) as synthesizer:
            result = await synthesizer.synthesize(make_context())

    assert proxy.dropped == 1
    assert result.used_fallback is False, result.fallback_reason
    assert len(llm.state.chat_calls) == 1  # the dropped attempt never reached the server


async def test_a_connection_that_keeps_dropping_falls_back_after_one_more_try(
    tmp_path: Path, llm: RunningLLM
) -> None:
    with dropping_proxy(llm.base_url, drops=5) as proxy:
        settings = llm_settings(tmp_path, llm, openrouter_base_url=proxy.base_url)
        async with LLMSynthesizer(settings, make_llm_breaker(settings)) as synthesizer:
            result = await synthesizer.synthesize(make_context())

    assert proxy.dropped == 2
    assert result.used_fallback is True
    assert (result.fallback_reason or "").startswith("OpenRouter API unreachable: ")
    assert llm.state.chat_calls == []
