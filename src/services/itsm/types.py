"""Platform names and the typed values the ITSM clients return."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

Platform = Literal["servicenow", "jira"]
PLATFORMS: tuple[Platform, ...] = ("servicenow", "jira")
SERVICE_NAMES: dict[Platform, str] = {"servicenow": "ServiceNow", "jira": "Jira"}

Payload = dict[str, object]


@dataclass(frozen=True, slots=True)
class CreatedTicket:
    """A ticket the platform accepted, and what it took to get there.

    Attributes:
        external_id: ServiceNow ``sys_id`` or Jira issue id.
        key: Human key: ServiceNow ``number`` (``INC0010002``) or Jira key (``OPS-12``).
        url: Where a person opens the ticket in a browser.
        priority: ``P1``..``P4`` derived from the platform's own priority, when known.
        remote_state: The platform's state right after creation.
        attempts: HTTP calls made, including the successful one.
        retry_delay_s: Seconds slept between attempts.
        last_error: The failure that preceded success, if any.
    """

    external_id: str
    key: str
    url: str
    priority: str | None
    remote_state: str | None
    attempts: int
    retry_delay_s: float
    last_error: str | None


@dataclass(frozen=True, slots=True)
class RemoteStatus:
    """A ticket's state as read back from its platform.

    Attributes:
        state: ServiceNow ``state`` (``"1"``..``"8"``) or Jira status category key.
        acknowledged: Someone has started working on it (or it is already done).
        resolved: Resolved or closed.
        resolved_at: The platform's own resolution time, when it reports one.
    """

    state: str
    acknowledged: bool
    resolved: bool
    resolved_at: datetime | None = None


class ItsmClient(Protocol):
    """What the service needs from a platform client (narrow, like Dispatch's plugins)."""

    async def create(self, payload: Payload) -> CreatedTicket:
        """Open a ticket from a validated payload."""
        ...

    async def status(self, external_id: str) -> RemoteStatus:
        """Read the ticket's current state."""
        ...

    async def ping(self) -> None:
        """One cheap authenticated call; raises ``ExternalServiceError`` when unreachable."""
        ...
