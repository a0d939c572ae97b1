"""``enhancer serve`` and ``enhancer migrate``."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn
from sqlalchemy.exc import SQLAlchemyError

from src.cli.common import fail, settings_or_exit
from src.database.migrate import upgrade
from src.errors import ConfigError


def _upgrade_or_exit(database_url: str) -> None:
    """Migrate to head; a missing migrations folder or database exits 1 with a message."""
    try:
        upgrade(database_url)
    except ConfigError as exc:
        fail(str(exc))
    except (OSError, SQLAlchemyError) as exc:
        fail(f"Database connection lost: cannot migrate the database: {exc}")


def migrate() -> None:
    """Create or upgrade the database schema (alembic upgrade head)."""
    _upgrade_or_exit(settings_or_exit().database_url)
    typer.echo("Database is at the latest schema.")


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    migrate_first: Annotated[bool, typer.Option("--migrate/--no-migrate")] = True,
) -> None:
    """Run the API; on the embedded default it also runs the worker pool."""
    from src.main import build_app

    settings = settings_or_exit()
    if migrate_first:
        _upgrade_or_exit(settings.database_url)
    app = build_app(settings)
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)
