"""A fake OpenAI-compatible (OpenRouter-shaped) chat completions server for tests.

Served over real HTTP on 127.0.0.1 by ``serve_in_thread``. Tests script its behaviour through
``FakeLLMState`` and read back every request it received::

    with running_llm() as llm:
        llm.state.mode = "error"
        llm.state.status_code = 503
        ...  # point OPENROUTER_BASE_URL at llm.base_url
        assert llm.state.calls[0].headers["authorization"] == "Bearer sk-test"

Modes:
    ``ok``         200 with ``state.content`` as the assistant message and OpenRouter usage.
    ``error``      ``state.status_code`` with OpenRouter's body ``{"error": {"code", "message"}}``
                   (``GET /models`` too, so health checks see the outage).
    ``slow``       like ``ok`` but only after ``state.slow_seconds`` (stops early if the client
                   hangs up, so the server shuts down quickly).
    ``malformed``  200 whose assistant message is ``state.malformed_content`` (not JSON).

``state.latency_seconds`` is added before every answer; it is an ``asyncio.sleep``, so
concurrent requests overlap rather than queue.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.server import serve_in_thread

Mode = Literal["ok", "error", "slow", "malformed"]

DEFAULT_CONTENT = json.dumps(
    {
        "summary": "The VPN gateway rejects logins for remote staff since this morning.",
        "likely_cause": "An expired certificate on the VPN gateway.",
        "next_steps": [
            "Check the certificate expiry on the VPN gateway.",
            "Compare with the resolution of the similar past ticket.",
            "Tell affected users about the workaround.",
        ],
    }
)


@dataclass(frozen=True, slots=True)
class RecordedCall:
    """One request the fake received; header names are lower case."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None

    @property
    def prompt_text(self) -> str:
        """All message contents of a chat request joined, for assertions on the prompt."""
        messages = (self.body or {}).get("messages", [])
        return "\n".join(str(m.get("content", "")) for m in messages)


@dataclass
class FakeLLMState:
    """Scriptable behaviour of the fake and the calls it recorded."""

    mode: Mode = "ok"
    status_code: int = 500
    error_message: str = "Internal Server Error"
    latency_seconds: float = 0.0
    slow_seconds: float = 5.0
    content: str = DEFAULT_CONTENT
    malformed_content: str = "Sure! Here is what I think: the VPN is down."
    model: str = "openai/gpt-4o-mini"
    prompt_tokens: int = 412
    completion_tokens: int = 96
    cost: float = 0.0001194
    calls: list[RecordedCall] = field(default_factory=list)

    def reset(self) -> None:
        """Back to the defaults with no recorded calls (for a server shared by many tests)."""
        fresh = FakeLLMState()
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(fresh, name))

    @property
    def chat_calls(self) -> list[RecordedCall]:
        """Recorded chat completion requests only."""
        return [c for c in self.calls if c.path.endswith("/chat/completions")]


@dataclass(frozen=True, slots=True)
class RunningLLM:
    """A started fake: ``base_url`` ends in ``/v1`` like OpenRouter's ``/api/v1``."""

    base_url: str
    state: FakeLLMState


async def _sleep_unless_disconnected(request: Request, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await request.is_disconnected():
            return
        await asyncio.sleep(min(0.5, max(0.0, deadline - time.monotonic())))


def _completion(state: FakeLLMState, content: str, model: str) -> dict[str, Any]:
    return {
        "id": f"gen-fake-{len(state.calls)}",
        "provider": "OpenAI",
        "model": model,
        "object": "chat.completion",
        "created": int(time.time()),
        "choices": [
            {
                "index": 0,
                "logprobs": None,
                "finish_reason": "stop",
                "native_finish_reason": "stop",
                "message": {"role": "assistant", "content": content, "refusal": None},
            }
        ],
        "usage": {
            "prompt_tokens": state.prompt_tokens,
            "completion_tokens": state.completion_tokens,
            "total_tokens": state.prompt_tokens + state.completion_tokens,
            "cost": state.cost,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
    }


def build_app(state: FakeLLMState) -> Starlette:
    """The fake's ASGI app, reading its behaviour from ``state`` on every request."""

    async def chat_completions(request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = None
        state.calls.append(
            RecordedCall(
                method=request.method,
                path=request.url.path,
                headers={k.lower(): v for k, v in request.headers.items()},
                body=body,
            )
        )
        if state.latency_seconds:
            await asyncio.sleep(state.latency_seconds)
        if state.mode == "error":
            payload = {"error": {"code": state.status_code, "message": state.error_message}}
            return JSONResponse(payload, status_code=state.status_code)
        if state.mode == "slow":
            await _sleep_unless_disconnected(request, state.slow_seconds)
        content = state.malformed_content if state.mode == "malformed" else state.content
        model = state.model or str((body or {}).get("model", "unknown"))
        return JSONResponse(_completion(state, content, model))

    async def models(request: Request) -> Response:
        state.calls.append(
            RecordedCall(
                method=request.method,
                path=request.url.path,
                headers={k.lower(): v for k, v in request.headers.items()},
                body=None,
            )
        )
        if state.mode == "error":
            payload = {"error": {"code": state.status_code, "message": state.error_message}}
            return JSONResponse(payload, status_code=state.status_code)
        return JSONResponse({"data": [{"id": state.model, "name": state.model}]})

    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/api/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/v1/models", models, methods=["GET"]),
            Route("/api/v1/models", models, methods=["GET"]),
        ]
    )


@contextmanager
def running_llm(state: FakeLLMState | None = None) -> Iterator[RunningLLM]:
    """Start the fake on a free 127.0.0.1 port; yields its ``base_url`` and ``state``."""
    state = state or FakeLLMState()
    with serve_in_thread(build_app(state)) as url:
        yield RunningLLM(base_url=f"{url}/v1", state=state)
