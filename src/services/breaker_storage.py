"""The shared breaker state in Redis with fewer writes on the success path.

pybreaker's ``CircuitRedisStorage`` makes blocking Redis calls: it reads the state on every
guarded call and writes ``fail_counter = 0`` after every success. In a worker those calls run on
the event loop that carries every job in flight (profiling showed them at ~10 % of the worker's
CPU). So the state is read at most once per ``state_ttl`` (a quarter second) per process: an
outage seen by one process stops every other one's calls within that time; a change made here
is seen here at once. A read that fails (Redis down) or takes longer than
``SLOW_READ_SECONDS`` (a Redis that hangs: each read then blocks the loop for the client's socket
timeout) is logged once and makes the next one wait ``state_backoff`` (5 s); meanwhile the last
state seen stands (``closed`` if none). Successes reset the shared failure counter at most once
per ``ttl`` per process, and at once after a failure seen here.
"""

from __future__ import annotations

import time
from datetime import datetime

import pybreaker
import redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from src.logging import get_logger

log = get_logger(__name__)
SLOW_READ_SECONDS = 0.2  # a GET answers in under 1 ms; a hung Redis takes the 0.5 s timeout


class ThrottledResetStorage(pybreaker.CircuitBreakerStorage):
    """Wraps a shared storage; skips failure-counter resets already done within ``ttl``."""

    def __init__(
        self,
        inner: pybreaker.CircuitBreakerStorage,
        *,
        ttl: float = 1.0,
        state_ttl: float = 0.25,
        state_backoff: float = 5.0,
    ) -> None:
        super().__init__(inner.name)
        self._inner = inner
        self._ttl = ttl
        self._zero_until = 0.0  # the shared counter was 0 when last seen, until then
        self._state_ttl = state_ttl
        self._state_backoff = state_backoff
        self._state = pybreaker.STATE_CLOSED
        self._state_until = 0.0  # ``_state`` was read (or written) less than state_ttl ago

    @property
    def state(self) -> str:
        """The shared state, as read (or written here) within the last ``state_ttl``."""
        now = time.monotonic()
        if now >= self._state_until:
            error = None
            try:
                self._state = self._inner.state
            except RedisError as exc:
                error = f"{type(exc).__name__}: {exc}"[:300]
            took = time.monotonic() - now
            wait = self._state_ttl
            if error is not None or took > SLOW_READ_SECONDS:
                wait = self._state_backoff
                log.warning(
                    "breaker_state_read_failed" if error else "breaker_state_read_slow",
                    error=error,
                    took_ms=round(took * 1000),
                    next_read_in_s=wait,
                    state=self._state,
                )
            self._state_until = now + took + wait
        return self._state

    @state.setter
    def state(self, state: str) -> None:
        self._inner.state = state
        self._state = str(state)
        self._state_until = time.monotonic() + self._state_ttl

    def increment_counter(self) -> None:
        """Count a failure in the shared counter."""
        self._zero_until = 0.0
        self._inner.increment_counter()

    def reset_counter(self) -> None:
        """Zero the shared failure counter (skipped if this process did so within ``ttl``)."""
        now = time.monotonic()
        if now >= self._zero_until:
            self._inner.reset_counter()
            self._zero_until = now + self._ttl

    def increment_success_counter(self) -> None:
        """Count a success (half-open trials)."""
        self._inner.increment_success_counter()

    def reset_success_counter(self) -> None:
        """Zero the success counter."""
        self._inner.reset_success_counter()

    @property
    def counter(self) -> int:
        """The shared failure counter, read now."""
        return self._inner.counter

    @property
    def success_counter(self) -> int:
        """The shared success counter, read now."""
        return self._inner.success_counter

    @property
    def opened_at(self) -> datetime | None:
        """When the breaker last opened."""
        return self._inner.opened_at

    @opened_at.setter
    def opened_at(self, value: datetime) -> None:
        self._inner.opened_at = value


class RedisBreakerState(pybreaker.CircuitRedisStorage):
    """pybreaker's Redis storage, except that a failed read raises and start-up never does.

    pybreaker's own storage logs a stack trace and answers ``closed`` for every failed read, so
    the wrapper above could not tell Redis down from the breaker closed; and its constructor
    writes the initial keys, so a worker built while Redis was down failed. Here a failed read
    raises ``RedisError`` (``ThrottledResetStorage`` backs off), and the initial keys are
    written later when they cannot be written now (the first read that finds no state does).
    """

    def _initialize_redis_state(self, state: str) -> None:
        try:
            super()._initialize_redis_state(state)
        except RedisError as exc:
            log.warning("breaker_state_init_failed", error=f"{type(exc).__name__}: {exc}"[:300])

    @property
    def state(self) -> str:
        """The stored state; raises ``RedisError`` when Redis cannot be read."""
        stored = self._redis.get(self._namespace("state"))
        if stored is None:
            self._initialize_redis_state(self._fallback_circuit_state)
            return self._fallback_circuit_state
        return stored.decode("utf-8") if isinstance(stored, bytes) else str(stored)

    @state.setter
    def state(self, state: str) -> None:
        pybreaker.CircuitRedisStorage.state.fset(self, state)  # type: ignore[attr-defined]


def redis_breaker_state(url: str, name: str) -> ThrottledResetStorage:
    """The shared state of breaker ``name`` in the Redis at ``url``, as a worker uses it.

    Its calls block the event loop, so they fail fast: 0.5 s timeouts and one immediate retry
    (a pooled connection that Redis closed). redis-py's default, 10 retries with exponential
    back-off, held the loop for seconds per call while Redis was down.
    """
    client = redis.Redis.from_url(
        url, socket_timeout=0.5, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 1)
    )
    return ThrottledResetStorage(RedisBreakerState(pybreaker.STATE_CLOSED, client, namespace=name))
