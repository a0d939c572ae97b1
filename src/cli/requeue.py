"""``enhancer requeue``: put jobs back to ``pending`` so a worker runs them again.

Select by ``--correlation-id``, ``--job-id``, ``--ticket-id`` with ``--tenant-id``, or
``--status`` (with ``--since 2h``); ``--dry-run`` prints what would happen and changes nothing.
One live job per ticket: a job whose ticket already has another live job is skipped with the
reason. A re-run never posts a second note (the worker adopts the note already posted).
Exit 0 when at least one job was (or, dry, would be) re-queued; 1 otherwise.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Literal

import typer

from src.cli.common import database, fail, run, settings_or_exit
from src.database.models import utcnow
from src.database.repositories.requeue import RequeueResult, Selector, requeue_selected
from src.database.session import transaction

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(value: str) -> datetime:
    """``90s``, ``30m``, ``2h`` or ``1d`` ago, as a UTC timestamp."""
    match = _DURATION.match(value.strip())
    if match is None:
        raise typer.BadParameter("use a number and s, m, h or d, e.g. 2h", param_hint="'--since'")
    return utcnow() - timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


def requeue(
    correlation_id: Annotated[str | None, typer.Option(help="One job by correlation ID.")] = None,
    job_id: Annotated[str | None, typer.Option(help="One job by job ID.")] = None,
    ticket_id: Annotated[
        str | None, typer.Option(help="The ticket's newest job (with --tenant-id).")
    ] = None,
    tenant_id: Annotated[
        str | None, typer.Option(help="Tenant of --ticket-id; narrows --status.")
    ] = None,
    status: Annotated[
        Literal["failed", "completed", "pending"] | None,
        typer.Option(help="Every job in this status (see --since)."),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="With --status: created within e.g. 30m, 2h, 1d.")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show, change nothing.")] = False,
) -> None:
    """Re-queue jobs by correlation ID, job ID, ticket, or status and age."""
    chosen = [
        name
        for name, given in (
            ("--correlation-id", correlation_id),
            ("--job-id", job_id),
            ("--ticket-id", ticket_id),
            ("--status", status),
        )
        if given
    ]
    if len(chosen) != 1:
        fail("Give exactly one of --correlation-id, --job-id, --ticket-id, --status.", 2)
    if ticket_id and not tenant_id:
        fail("--ticket-id needs --tenant-id.", 2)
    if since and not status:
        fail("--since goes with --status.", 2)
    selector = Selector(
        correlation_id=correlation_id,
        job_id=job_id,
        ticket_id=ticket_id,
        tenant_id=tenant_id,
        status=status,
        since=parse_since(since) if since else None,
    )
    settings = settings_or_exit()

    async def work() -> list[RequeueResult]:
        async with database(settings) as factory, transaction(factory) as session:
            results = await requeue_selected(session, selector, dry_run=dry_run)
            if dry_run:
                await session.rollback()
            return results

    results = run(work)
    if not results:
        fail("No job matches.", 1)
    verb = "would requeue" if dry_run else "requeued"
    for r in results:
        what = (
            f"job_id={r.job_id} correlation_id={r.correlation_id} tenant_id={r.tenant_id} "
            f"ticket_id={r.ticket_id} was={r.previous_status}"
        )
        typer.echo(f"{verb} {what}" if r.requeued else f"skipped {what}: {r.reason}")
    done = sum(r.requeued for r in results)
    typer.echo(f"{done} of {len(results)} job(s) {verb}.")
    if not done:
        raise typer.Exit(1)
