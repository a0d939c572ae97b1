"""The ``enhancer`` command line."""

from __future__ import annotations

import typer

from src.cli import demo, history, imports, itsm, llm, requeue, serve, tenants, worker

app = typer.Typer(help="Enhancer: better ServiceDesk Plus tickets.", no_args_is_help=True)
app.add_typer(tenants.app, name="tenants")
app.add_typer(imports.app, name="import", help="Load KB articles, tickets, assets or networks.")
app.add_typer(history.app, name="history")
app.add_typer(llm.app, name="llm")
app.command("requeue")(requeue.requeue)
app.add_typer(itsm.app, name="itsm")
app.command("serve")(serve.serve)
app.command("migrate")(serve.migrate)
app.command("demo")(demo.demo)
app.command("worker")(worker.worker)


def main() -> None:
    """Console-script entry point."""
    app()
