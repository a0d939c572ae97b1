"""``enhancer worker``: a Celery worker for the scaled deployment."""

from __future__ import annotations

from typing import Annotated

import typer

from src.cli.common import fail, settings_or_exit


def worker(
    concurrency: Annotated[int, typer.Option(help="Jobs in flight in this process.")] = 100,
    beat: Annotated[bool, typer.Option("--beat", help="Also run the reconciler schedule.")] = False,
    loglevel: Annotated[str, typer.Option(help="Celery's own log level.")] = "WARNING",
) -> None:
    """Run a Celery worker on the ``default`` queue (threads pool, one event loop)."""
    settings = settings_or_exit()
    if not settings.broker_url:
        fail("Set CELERY_BROKER_URL or REDIS_URL to run a Celery worker.", 2)
    from src.workers.celery_app import celery_app  # heavy import only for this command

    argv = [
        "worker",
        "-P",
        "threads",
        "-c",
        str(concurrency),
        "-Q",
        "default",
        f"--loglevel={loglevel}",
        "--without-gossip",
        "--without-mingle",
    ]
    if beat:
        argv.append("-B")
    celery_app.worker_main(argv)
