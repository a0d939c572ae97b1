"""``enhancer itsm sync``: read ticket state back from ServiceNow and Jira (SLA timestamps)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from src.cli.common import database, fail, run, settings_or_exit
from src.errors import ConfigError
from src.services.itsm.runtime import open_itsm
from src.services.itsm.sync import SyncReport, sync_once
from src.services.itsm.templates import load_catalog

app = typer.Typer(help="Outbound ITSM (ServiceNow, Jira).", no_args_is_help=True)


def _print(report: SyncReport) -> None:
    typer.echo(
        f"checked {report.checked}, acknowledged {report.acknowledged}, "
        f"resolved {report.resolved}, failed {report.failed}"
    )
    for error in report.errors:
        typer.secho(f"  {error}", err=True, fg=typer.colors.YELLOW)


@app.command("sync")
def sync(
    interval: Annotated[
        float | None,
        typer.Option(help="Repeat every N seconds until stopped (default: run once)."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000, help="Tickets per pass.")] = 500,
) -> None:
    """Read state changes of unresolved tickets and fill acknowledged/resolved times.

    Exits 1 when a single run could not read some tickets (they are retried next run).
    """
    settings = settings_or_exit()

    async def work() -> int:
        failed = 0
        async with database(settings) as factory, open_itsm(settings, factory) as service:
            while True:
                report = await sync_once(service, limit=limit)
                _print(report)
                failed = report.failed
                if interval is None:
                    return failed
                await asyncio.sleep(interval)

    if run(work):
        raise typer.Exit(1)


@app.command("check-templates")
def check_templates() -> None:
    """Load and check ``config/itsm_config.json`` (``ITSM_CONFIG_PATH``); exit 1 on problems."""
    settings = settings_or_exit()
    try:
        catalog = load_catalog(settings.itsm_config_path)
    except ConfigError as exc:
        fail(str(exc), 1)
    for template in catalog.list():
        typer.echo(f"{template.platform:<11} {template.name:<28} {template.description}")
