"""Dependencies shared by routes (``Annotated`` aliases) and the application's state."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from src.api.errors import ApiError
from src.api.intake import JobIntake
from src.config import Settings
from src.database.crypto import SecretBox
from src.database.session import SessionFactory
from src.database.tenant_cache import TenantCache
from src.queue.base import JobQueue


@dataclass(frozen=True, slots=True)
class AppState:
    """Objects built once in ``create_app`` and used by every request."""

    settings: Settings
    session_factory: SessionFactory
    box: SecretBox
    queue: JobQueue
    tenants: TenantCache
    intake: JobIntake


async def _app_state(request: Request) -> AppState:
    state: AppState = request.app.state.enhancer
    return state


State = Annotated[AppState, Depends(_app_state)]


async def _require_admin(request: Request, state: State) -> None:
    token = state.settings.admin_api_token
    if token is None:
        raise ApiError(401, "admin_disabled", "Admin API is disabled: set ADMIN_API_TOKEN")
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), token.get_secret_value().encode()
    ):
        raise ApiError(
            401,
            "unauthorized",
            "Missing or wrong admin token (Authorization: Bearer ...)",
            headers={"WWW-Authenticate": "Bearer"},
        )


Admin = Depends(_require_admin)
