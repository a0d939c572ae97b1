"""The ``JobQueue`` protocol: how the API wakes whatever runs jobs.

The committed ``enhancement_history`` row is the job; a queue only makes a worker look sooner.
``notify`` must never block or fail the request: if the wake-up is lost, the worker's poll (or
the reconciler) still finds the pending row.
"""

from __future__ import annotations

from typing import Protocol


class JobQueue(Protocol):
    """Something that runs pending jobs, started and stopped with the API process."""

    async def start(self) -> None:
        """Begin processing (called from the API's lifespan)."""
        ...

    async def stop(self) -> None:
        """Stop taking jobs and let in-flight ones finish or be abandoned to their lease."""
        ...

    def notify(self, job_id: str) -> None:
        """A job was committed; wake a worker. Cheap, non-blocking, never raises."""
        ...

    def describe(self) -> dict[str, object]:
        """Queue state for health checks (kind, in-flight jobs, ...)."""
        ...


class NullQueue:
    """A queue that runs nothing: jobs stay ``pending`` for an external worker."""

    async def start(self) -> None:
        """Nothing to start."""

    async def stop(self) -> None:
        """Nothing to stop."""

    def notify(self, job_id: str) -> None:
        """Nothing to wake; an external worker polls the database."""

    def describe(self) -> dict[str, object]:
        """Report that no in-process worker runs here."""
        return {"kind": "external"}
