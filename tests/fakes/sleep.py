"""A sleep that records the delays it was asked for and returns at once."""

from __future__ import annotations


class RecordingSleep:
    """Drop-in for ``asyncio.sleep`` in retry code; ``delays`` lists every request."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        """Record ``delay`` without waiting."""
        self.delays.append(delay)
