"""``enhancer history show CORRELATION_ID``: one job's record, as an operator needs it."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from src.cli.common import database, fail, run, settings_or_exit
from src.database.repositories import history

app = typer.Typer(help="Read enhancement history.", no_args_is_help=True)

_FIELDS = (
    "job_id",
    "correlation_id",
    "tenant_id",
    "ticket_id",
    "status",
    "attempts",
    "error_message",
    "context_nodes_success",
    "context_nodes_failed",
    "ticket_search_time_ms",
    "kb_search_time_ms",
    "ip_lookup_time_ms",
    "context_time_ms",
    "synthesis_time_ms",
    "writeback_time_ms",
    "total_time_ms",
    "used_fallback",
    "fallback_reason",
    "llm_model",
    "prompt_tokens",
    "completion_tokens",
    "cost",
    "sdp_note_id",
    "node_details",
    "created_at",
    "started_at",
    "completed_at",
    "next_attempt_at",
)


@app.command("show")
def show(
    correlation_id: Annotated[str, typer.Argument(help="The job's correlation ID.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    note: Annotated[bool, typer.Option("--note", help="Also print the note HTML.")] = False,
) -> None:
    """Show one enhancement job by correlation ID."""
    settings = settings_or_exit()

    async def work() -> dict[str, Any] | None:
        async with database(settings) as factory, factory() as session:
            row = await history.get_job(session, correlation_id=correlation_id)
            if row is None:
                return None
            return {name: getattr(row, name) for name in (*_FIELDS, "enhancement")}

    record = run(work)
    if record is None:
        fail(f"No enhancement with correlation_id '{correlation_id}'")
    note_html = record.pop("enhancement")
    if as_json:
        if note:
            record["enhancement"] = note_html
        typer.echo(json.dumps(record, default=str, indent=2))
        return
    for name, value in record.items():
        if value is not None:
            typer.echo(f"{name:<24} {value}")
    if note and note_html:
        typer.echo("\n" + note_html)
