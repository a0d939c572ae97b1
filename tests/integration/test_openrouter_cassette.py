"""ChatOpenAI and LLMSynthesizer parse OpenRouter-shaped responses replayed by vcrpy.

The cassettes under ``tests/cassettes/openrouter`` are hand-written from OpenRouter's documented
shapes (record mode ``none``: nothing reaches the network; a request without a matching
interaction fails the test).
"""

from __future__ import annotations

from pathlib import Path

import openai
import pytest
import vcr
from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI

from src.config import Settings
from src.context import EnhancementContext, TicketInfo
from src.services.circuit_breaker import make_llm_breaker
from src.services.llm_synthesis import LLMSynthesizer
from tests.conftest import make_settings

CASSETTES = Path(__file__).resolve().parents[1] / "cassettes" / "openrouter"
replay = vcr.VCR(
    cassette_library_dir=str(CASSETTES),
    record_mode="none",
    match_on=["method", "scheme", "host", "path"],
    filter_headers=["authorization", "http-referer", "x-title"],
)
CONTEXT = EnhancementContext(
    tenant_id="acme",
    correlation_id="corr-cassette",
    ticket=TicketInfo("9001", "VPN down", "Nobody can log in to the VPN since 08:00."),
)


def cassette_settings(tmp_path: Path) -> Settings:
    return make_settings(
        tmp_path,
        openrouter_api_key="sk-or-v1-cassette",
        openrouter_base_url="https://openrouter.ai/api/v1",
        llm_model="openai/gpt-4o-mini",
        llm_timeout_seconds=5,
    )


async def test_chat_openai_reads_openrouter_usage_and_cost() -> None:
    client = openai.DefaultAsyncHttpxClient(timeout=5.0)
    model = ChatOpenAI(
        model="openai/gpt-4o-mini",
        base_url="https://openrouter.ai/api/v1",
        api_key="sk-or-v1-cassette",
        max_retries=0,
        http_async_client=client,
    )
    try:
        with replay.use_cassette("chat_completion_ok.yaml") as cassette:
            message = await model.ainvoke([HumanMessage(content="hi")])
    finally:
        await client.aclose()

    assert cassette.play_count == 1
    assert message.usage_metadata is not None
    assert message.usage_metadata["input_tokens"] == 512
    assert message.usage_metadata["output_tokens"] == 88
    assert message.response_metadata["model_name"] == "openai/gpt-4o-mini"
    assert message.response_metadata["token_usage"]["cost"] == pytest.approx(0.0001296)


async def test_synthesizer_turns_recorded_answer_into_synthesis(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, openrouter_api_key="sk-or-v1-cassette", llm_timeout_seconds=5
    )
    async with LLMSynthesizer(settings, make_llm_breaker(settings)) as synthesizer:
        with replay.use_cassette("chat_completion_ok.yaml") as cassette:
            result = await synthesizer.synthesize(CONTEXT)

    assert cassette.play_count == 1
    assert result.used_fallback is False
    assert result.likely_cause == "The VPN gateway certificate has expired."
    assert result.next_steps[0] == "Check the certificate expiry on vpn-gw-01."
    assert result.model == "openai/gpt-4o-mini"
    assert (result.prompt_tokens, result.completion_tokens) == (512, 88)
    assert result.cost == pytest.approx(0.0001296)


async def test_recorded_503_error_body_becomes_operator_reason(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, openrouter_api_key="sk-or-v1-cassette", llm_timeout_seconds=5
    )
    breaker = make_llm_breaker(settings)
    async with LLMSynthesizer(settings, breaker) as synthesizer:
        with replay.use_cassette("chat_completion_503.yaml") as cassette:
            result = await synthesizer.synthesize(CONTEXT)

    assert cassette.play_count == 1
    assert result.used_fallback is True
    assert result.fallback_reason == "OpenRouter API error: 503 Service Unavailable"
    assert breaker.fail_counter == 1
