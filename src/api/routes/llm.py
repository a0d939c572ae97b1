"""``GET|PUT /api/v1/llm``: the runtime LLM switch shared by every worker (admin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from src.api.deps import Admin, State
from src.database.repositories import flags
from src.database.session import transaction
from src.logging import get_logger

router = APIRouter(prefix="/api/v1/llm", dependencies=[Admin])
log = get_logger(__name__)


class LLMSwitch(BaseModel):
    """``disabled: true`` makes every job use the formatted fallback, within seconds."""

    disabled: bool


async def llm_status(state: State) -> dict[str, Any]:
    """Effective state: the runtime flag, the ``DISABLE_LLM_SYNTHESIS`` setting and the key."""
    settings = state.settings
    async with state.session_factory() as session:
        runtime = bool(
            await flags.get_flag(session, name=flags.DISABLE_LLM_SYNTHESIS, default=False)
        )
    forced = settings.disable_llm_synthesis
    configured = settings.openrouter_api_key is not None
    return {
        "enabled": configured and not forced and not runtime,
        "runtime_disabled": runtime,
        "env_disabled": forced,
        "api_key_configured": configured,
        "model": settings.llm_model,
    }


@router.get("")
async def get_llm(state: State) -> dict[str, Any]:
    """Whether jobs call the LLM now, and why not."""
    return await llm_status(state)


@router.put("")
async def put_llm(body: LLMSwitch, state: State) -> dict[str, Any]:
    """Disable or re-enable LLM synthesis for every worker without a restart."""
    async with transaction(state.session_factory) as session:
        await flags.set_flag(
            session, name=flags.DISABLE_LLM_SYNTHESIS, value=body.disabled, updated_by="api"
        )
    log.warning("llm_switch_changed", disabled=body.disabled, by="api")
    return await llm_status(state)
