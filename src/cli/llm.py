"""``enhancer llm disable|enable|status``: the runtime LLM switch, shared by every worker.

Writes the ``disable_llm_synthesis`` runtime flag; workers read it before each synthesis
(cached for ``RUNTIME_FLAG_CACHE_SECONDS``), so no restart or redeploy is needed. The
``DISABLE_LLM_SYNTHESIS`` setting still forces the fallback whatever the flag says.
"""

from __future__ import annotations

import getpass
from typing import Any

import typer

from src.cli.common import database, run, settings_or_exit
from src.config import Settings
from src.database.repositories import flags
from src.database.session import transaction

app = typer.Typer(help="Switch LLM synthesis off and on at run time.", no_args_is_help=True)


async def _set(settings: Settings, disabled: bool) -> None:
    async with database(settings) as factory, transaction(factory) as session:
        await flags.set_flag(
            session,
            name=flags.DISABLE_LLM_SYNTHESIS,
            value=disabled,
            updated_by=f"cli:{getpass.getuser()}",
        )


async def _status(settings: Settings) -> dict[str, Any]:
    async with database(settings) as factory, factory() as session:
        runtime = bool(
            await flags.get_flag(session, name=flags.DISABLE_LLM_SYNTHESIS, default=False)
        )
    return {"runtime_disabled": runtime}


@app.command("disable")
def disable() -> None:
    """Every job uses the formatted fallback from now on (within seconds)."""
    settings = settings_or_exit()
    run(lambda: _set(settings, True))
    typer.echo("LLM synthesis disabled at run time; jobs now use the formatted fallback.")


@app.command("enable")
def enable() -> None:
    """Clear the runtime switch; jobs call the LLM again (if configured)."""
    settings = settings_or_exit()
    run(lambda: _set(settings, False))
    typer.echo("LLM synthesis enabled at run time.")
    if settings.disable_llm_synthesis:
        typer.echo("Note: DISABLE_LLM_SYNTHESIS=true in the environment still forces the fallback.")


@app.command("status")
def status() -> None:
    """Whether jobs call the LLM, and if not, why."""
    settings = settings_or_exit()
    runtime = run(lambda: _status(settings))["runtime_disabled"]
    if settings.disable_llm_synthesis:
        typer.echo("LLM synthesis: disabled (DISABLE_LLM_SYNTHESIS=true)")
    elif runtime:
        typer.echo("LLM synthesis: disabled at run time (enhancer llm enable to undo)")
    elif settings.openrouter_api_key is None:
        typer.echo("LLM synthesis: not configured (OPENROUTER_API_KEY not set)")
    else:
        typer.echo(f"LLM synthesis: enabled (model {settings.llm_model})")
    typer.echo(f"runtime flag disable_llm_synthesis: {str(runtime).lower()}")
