"""Helpers shared by the CLI commands: settings, the database, error reporting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import NoReturn, TypeVar

import typer

from src.config import Settings, load_settings
from src.database.session import SessionFactory, make_engine, make_session_factory
from src.errors import ConfigError, EnhancerError, NotFoundError, ValidationFailed
from src.logging import configure_logging

T = TypeVar("T")


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``message`` to stderr and exit with ``code``."""
    typer.secho(message, err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def settings_or_exit() -> Settings:
    """Load settings; a bad variable exits 2 with its name."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        fail(str(exc), 2)
    configure_logging(settings.log_level, json=settings.log_json)
    return settings


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[SessionFactory]:
    """A session factory for one command, disposed afterwards."""
    engine = make_engine(settings)
    try:
        yield make_session_factory(engine)
    finally:
        await engine.dispose()


def run(work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` on a new event loop, turning product errors into CLI exits."""
    try:
        return asyncio.run(work())  # type: ignore[arg-type]
    except ValidationFailed as exc:
        for err in exc.errors:
            typer.secho(f"{err.field}: {err.message} ({err.code})", err=True, fg=typer.colors.RED)
        fail("Nothing was changed.", 1)
    except NotFoundError as exc:
        fail(str(exc), 1)
    except EnhancerError as exc:
        fail(str(exc), 1)
