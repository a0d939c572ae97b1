"""The shared breaker state: visible to every process within a quarter second, few Redis calls."""

from __future__ import annotations

import time
from pathlib import Path

import pybreaker
import pytest
import redis

from src.services.breaker_storage import (
    RedisBreakerState,
    ThrottledResetStorage,
    redis_breaker_state,
)
from src.services.circuit_breaker import BREAKER_NAME, make_llm_breaker
from tests.conftest import make_settings
from tests.integration.scaled import PrivateRedis, free_port


def _breaker(
    url: str, tmp_path: Path, ttl: float, state_ttl: float = 0.25
) -> pybreaker.CircuitBreaker:
    shared = RedisBreakerState(
        pybreaker.STATE_CLOSED, redis.Redis.from_url(url), namespace=BREAKER_NAME
    )
    settings = make_settings(tmp_path, breaker_fail_max=3, breaker_reset_seconds=60)
    return make_llm_breaker(
        settings, state_storage=ThrottledResetStorage(shared, ttl=ttl, state_ttl=state_ttl)
    )


def _fail(breaker: pybreaker.CircuitBreaker) -> None:
    with pytest.raises(RuntimeError), breaker.calling():
        raise RuntimeError("OpenRouter API error: 503 Service Unavailable")


def _commands(client: redis.Redis) -> dict[str, int]:
    stats = client.info("commandstats")
    return {name: int(value["calls"]) for name, value in stats.items()}


def test_an_outage_in_one_process_opens_the_breaker_for_the_others(
    tmp_path: Path, redis_server: PrivateRedis
) -> None:
    first = _breaker(redis_server.url, tmp_path, ttl=30)
    second = _breaker(redis_server.url, tmp_path, ttl=30, state_ttl=0.2)
    with second.calling():
        pass  # the second process has seen "closed" and reset the counter
    for _ in range(3):
        _fail(first)
    assert first.current_state == "open"  # at once in the process that saw the failures
    time.sleep(0.25)  # the other process reads the shared state again after state_ttl
    assert second.current_state == "open"
    with pytest.raises(pybreaker.CircuitBreakerError), second.calling():
        pass


def test_successes_call_redis_once_per_ttl(tmp_path: Path, redis_server: PrivateRedis) -> None:
    client = redis.Redis.from_url(redis_server.url)
    breaker = _breaker(redis_server.url, tmp_path, ttl=30, state_ttl=30)
    with breaker.calling():
        pass
    before = _commands(client)
    for _ in range(50):
        with breaker.calling():
            pass
    after = _commands(client)
    used = {name: after[name] - before.get(name, 0) for name in after}
    writes = {name: n for name, n in used.items() if name in ("cmdstat_set", "cmdstat_incr")}
    assert sum(writes.values()) == 0, used
    assert used.get("cmdstat_get", 0) == 0, used  # the state was read within state_ttl

    counter_key = f"{BREAKER_NAME}:pybreaker:fail_counter"
    _fail(breaker)  # a failure is counted at once, and the next success resets it at once
    assert client.get(counter_key) == b"1"
    with breaker.calling():
        pass
    assert client.get(counter_key) == b"0"
    client.close()


class _HangingStorage(pybreaker.CircuitMemoryStorage):
    """A shared storage whose reads take as long as a Redis that hangs (its socket timeout)."""

    def __init__(self, read_seconds: float) -> None:
        super().__init__(pybreaker.STATE_CLOSED)
        self.read_seconds, self.reads = read_seconds, 0

    @property
    def state(self) -> str:
        self.reads += 1
        time.sleep(self.read_seconds)
        return str(super().state)

    @state.setter
    def state(self, state: str) -> None:
        pybreaker.CircuitMemoryStorage.state.fset(self, state)  # type: ignore[attr-defined]


def test_a_slow_shared_state_is_read_again_only_after_the_backoff() -> None:
    slow = _HangingStorage(read_seconds=0.25)
    storage = ThrottledResetStorage(slow, state_ttl=0.0, state_backoff=60)
    assert [storage.state for _ in range(20)] == ["closed"] * 20
    assert slow.reads == 1  # one slow read; the next waits the back-off, not state_ttl

    fast = _HangingStorage(read_seconds=0.0)
    storage = ThrottledResetStorage(fast, state_ttl=0.0, state_backoff=60)
    assert [storage.state for _ in range(20)] == ["closed"] * 20
    assert fast.reads == 20  # state_ttl 0: a quick read is repeated on every call


def test_redis_down_keeps_the_last_state_seen_and_backs_off(redis_server: PrivateRedis) -> None:
    client = redis.Redis.from_url(redis_server.url, socket_timeout=0.5)
    shared = RedisBreakerState(pybreaker.STATE_CLOSED, client, namespace=BREAKER_NAME)
    storage = ThrottledResetStorage(shared, state_ttl=0.0, state_backoff=60)
    storage.state = pybreaker.STATE_OPEN  # written to Redis by this process
    assert storage.state == "open"
    redis_server.stop()
    assert storage.state == "open"  # the read failed: the last state seen stands
    redis_server.start()  # back, empty (no persistence): a new read would find "closed"
    assert storage.state == "open"  # within the back-off nothing is read
    client.close()


def test_a_worker_starts_while_redis_is_down(tmp_path: Path) -> None:
    storage = redis_breaker_state(f"redis://127.0.0.1:{free_port()}/0", BREAKER_NAME)
    settings = make_settings(tmp_path, breaker_fail_max=3, breaker_reset_seconds=60)
    breaker = make_llm_breaker(settings, state_storage=storage)
    started = time.monotonic()
    with breaker.calling():
        pass  # the call goes through on the fallback state, closed
    assert breaker.current_state == "closed"
    assert time.monotonic() - started < 5  # no retry back-off sleeps while the loop waits
