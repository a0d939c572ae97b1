"""Run alembic migrations programmatically (``enhancer migrate`` and the tests use this)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from src.database.session import ensure_sqlite_folder
from src.errors import ConfigError

_ROOT = Path(__file__).resolve().parents[2]


def alembic_config(database_url: str) -> Config:
    """Alembic config pointing at this checkout's ``alembic/`` folder and ``database_url``.

    Raises:
        ConfigError: The migrations are not next to ``src/`` (a non-editable install).
    """
    if not (_ROOT / "alembic.ini").is_file():
        raise ConfigError(
            f"Migrations not found: {_ROOT / 'alembic.ini'} is missing. Install Enhancer from "
            "its source folder with `pip install -e .` so alembic/ stays next to src/."
        )
    config = Config(str(_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(_ROOT / "alembic"))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate ``database_url`` up to ``revision``."""
    ensure_sqlite_folder(database_url)
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    """Migrate ``database_url`` down to ``revision``."""
    command.downgrade(alembic_config(database_url), revision)
