"""Scriptable behaviour shared by the fake ServiceNow and Jira servers.

``failures`` is a queue consumed by create requests, one entry per request, so a test can
say "429 with Retry-After 1, then succeed" or "503 four times". ``failure_rate`` adds random
503s (seeded, for the benchmark) and ``latency_seconds`` delays every answer with an
``asyncio.sleep`` so concurrent requests overlap.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(frozen=True, slots=True)
class Failure:
    """One scripted error answer."""

    status: int
    retry_after: str | None = None


@dataclass(frozen=True, slots=True)
class RecordedCall:
    """One request the fake received; header names are lower case."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class ScriptState:
    """Failures to play, random failure rate, latency, and what was received."""

    failures: list[Failure] = field(default_factory=list)
    failure_rate: float = 0.0
    latency_seconds: float = 0.0
    seed: int = 7
    calls: list[RecordedCall] = field(default_factory=list)
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        self._rng.seed(self.seed)

    def reset(self) -> None:
        """Back to the defaults with nothing recorded (for a server shared by many tests)."""
        fresh = type(self)()
        for item in fields(self):
            setattr(self, item.name, getattr(fresh, item.name))

    def fail(self, *statuses: int, retry_after: str | None = None) -> None:
        """Queue errors for the next create requests."""
        self.failures.extend(Failure(s, retry_after) for s in statuses)

    def next_failure(self) -> Failure | None:
        """The scripted or random failure for this create request, if any."""
        if self.failures:
            return self.failures.pop(0)
        if self.failure_rate and self._rng.random() < self.failure_rate:
            return Failure(503)
        return None

    def creates(self, path: str) -> list[RecordedCall]:
        """Recorded POSTs to ``path``."""
        return [c for c in self.calls if c.method == "POST" and c.path == path]
