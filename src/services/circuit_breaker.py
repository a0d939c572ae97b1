"""The circuit breaker in front of OpenRouter, and the one correct way to use it from async code.

pybreaker has no native asyncio support: ``breaker.call(async_fn)`` returns an un-awaited
coroutine and records a success. ``call_through`` wraps the *await* in ``breaker.calling()``
instead, so exceptions raised while awaiting are what the breaker counts.

Caller errors are not outages: an exception carrying an HTTP ``status_code`` in the 4xx range
(other than 408 Request Timeout and 429 Too Many Requests) does not count as a failure, so a bad
key or a rejected request never opens the circuit for everyone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import pybreaker

from src.observability.metrics import set_breaker_state

if TYPE_CHECKING:
    from src.config import Settings

T = TypeVar("T")

BREAKER_NAME = "openrouter"
_OUTAGE_4XX = frozenset({408, 429})


def is_caller_error(exc: BaseException) -> bool:
    """True when ``exc`` is an HTTP 4xx answer that says nothing about the service's health.

    Args:
        exc: Any exception; only an integer ``status_code`` attribute is looked at (set by the
            openai SDK's ``APIStatusError`` and by ``src.errors.ExternalServiceError``).

    Returns:
        True for 4xx statuses other than 408 and 429.
    """
    status = getattr(exc, "status_code", None)
    return isinstance(status, int) and 400 <= status < 500 and status not in _OUTAGE_4XX


def make_llm_breaker(
    settings: Settings, *, state_storage: pybreaker.CircuitBreakerStorage | None = None
) -> pybreaker.CircuitBreaker:
    """Build the breaker that guards LLM calls.

    Args:
        settings: Supplies ``breaker_fail_max`` (consecutive failures that open the circuit)
            and ``breaker_reset_seconds`` (how long it stays open before one trial call).
        state_storage: Where the state lives; in memory (per process) when omitted. Pass a
            ``pybreaker.CircuitRedisStorage`` (namespace ``"openrouter"``) to share one state
            across processes.

    Returns:
        A breaker named ``"openrouter"`` that re-raises the original error on the call that trips
        it (later calls get ``pybreaker.CircuitBreakerError``) and ignores caller errors.
    """
    breaker = pybreaker.CircuitBreaker(
        fail_max=settings.breaker_fail_max,
        reset_timeout=settings.breaker_reset_seconds,
        exclude=[is_caller_error],
        state_storage=state_storage,
        listeners=[_StateMetric()],
        name=BREAKER_NAME,
        throw_new_error_on_trip=False,
    )
    set_breaker_state(BREAKER_NAME, breaker_state(breaker))
    return breaker


class _StateMetric(pybreaker.CircuitBreakerListener):
    """Publishes every state change as ``circuit_breaker_state{breaker}``."""

    def state_change(self, cb: pybreaker.CircuitBreaker, old_state: Any, new_state: Any) -> None:
        set_breaker_state(str(cb.name), str(getattr(new_state, "name", new_state)))


async def call_through(breaker: pybreaker.CircuitBreaker, fn: Callable[[], Awaitable[T]]) -> T:
    """Await ``fn()`` under ``breaker``, counting what it raises.

    Args:
        breaker: The breaker to go through.
        fn: A zero-argument callable returning the awaitable to run (a lambda or ``partial``),
            so nothing starts when the circuit is open.

    Returns:
        Whatever ``fn()`` returned.

    Raises:
        pybreaker.CircuitBreakerError: The circuit is open; ``fn`` was not called.
        BaseException: Anything ``fn()`` raised, unchanged, after the breaker counted it.
    """
    with breaker.calling():
        return await fn()


def breaker_state(breaker: pybreaker.CircuitBreaker) -> str:
    """The stored state: ``"closed"``, ``"open"`` or ``"half-open"``.

    An open breaker whose reset timeout has passed still reads ``"open"`` until the next call
    moves it to half-open.
    """
    state: Any = breaker.current_state
    return str(state)
