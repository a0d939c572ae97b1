"""Operator switches read from ``runtime_flags``, cached briefly so every job can ask cheaply.

``enhancer llm disable`` (or ``PUT /api/v1/llm``) writes the ``disable_llm_synthesis`` flag;
every worker process sees it within ``RUNTIME_FLAG_CACHE_SECONDS`` (5 s by default) without a
restart. If the database cannot be read, the last known value is kept.
"""

from __future__ import annotations

import time

from sqlalchemy.exc import SQLAlchemyError

from src.database.repositories import flags
from src.database.session import SessionFactory
from src.database.single_flight import SingleFlight
from src.logging import get_logger

LLM_FLAG = flags.DISABLE_LLM_SYNTHESIS

log = get_logger(__name__)


class CachedFlag:
    """A boolean runtime flag, re-read from the database at most every ``ttl_seconds``."""

    def __init__(self, factory: SessionFactory, name: str, *, ttl_seconds: float) -> None:
        self._factory = factory
        self._name = name
        self._ttl = ttl_seconds
        self._value = False
        self._read_at: float | None = None
        self._loads: SingleFlight[str, bool] = SingleFlight()

    async def __call__(self) -> bool:
        """The flag's value (False when never set); one read at a time serves every caller."""
        if self._read_at is not None and time.monotonic() - self._read_at < self._ttl:
            return self._value
        return await self._loads.run(self._name, self._read)

    async def _read(self) -> bool:
        try:
            async with self._factory() as session:
                self._value = bool(await flags.get_flag(session, name=self._name, default=False))
        except (SQLAlchemyError, OSError) as exc:
            log.warning("runtime_flag_read_failed", flag=self._name, error=str(exc)[:300])
        self._read_at = time.monotonic()
        return self._value
