"""``enhancer demo``: see the product work end to end on this machine."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

import typer

from src.cli.common import settings_or_exit
from src.logging import configure_logging


def demo(
    port: Annotated[int, typer.Option(help="API port (0 = any free port).")] = 0,
    keep_running: Annotated[
        bool, typer.Option("--keep-running", help="Leave the API and SDP simulator up.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Show the JSON logs too.")] = False,
) -> None:
    """Run the API, worker and an SDP simulator, send webhooks, print the notes."""
    from src.demo.run import run_demo  # heavy imports only for this command

    base = settings_or_exit()
    if not verbose:
        configure_logging("WARNING", json=base.log_json)
    demo_db = base.var_dir / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        demo_db.with_name(demo_db.name + suffix).unlink(missing_ok=True)
    settings = base.model_copy(
        update={"database_url": f"sqlite+aiosqlite:///{demo_db}", "embedded_worker": True}
    )
    with contextlib.suppress(KeyboardInterrupt):
        result = asyncio.run(
            run_demo(settings, port=port, keep_running=keep_running, say=typer.echo)
        )
        failed = [j for j in result.jobs if j["status"] != "completed"]
        if failed or len(result.jobs) < 3:
            typer.secho(f"\n{len(failed)} job(s) did not complete.", err=True, fg=typer.colors.RED)
            raise typer.Exit(1)
        typer.secho("\nDemo finished: every ticket was enhanced.", fg=typer.colors.GREEN)
