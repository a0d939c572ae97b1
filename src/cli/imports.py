"""``enhancer import kb|tickets|assets|networks FILE``: bulk-load the corpus and inventory.

Exit codes: 0 imported; 1 the file has invalid rows (each printed with its line number, and
nothing was imported) or the database failed; 2 usage problems: a missing or unreadable file,
malformed CSV/JSON, bad settings or no tenant given when it cannot be inferred.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from src.cli.common import database, fail, settings_or_exit
from src.config import Settings
from src.database.importers import ImportFileError, ImportResult, Kind, import_file
from src.database.repositories.tenants import list_tenants
from src.database.session import SessionFactory
from src.errors import ValidationFailed

app = typer.Typer(
    help="Import KB articles, tickets, assets and networks from CSV or JSON files.",
    no_args_is_help=True,
)

MAX_ERRORS_SHOWN = 50
_NOUNS: dict[Kind, tuple[str, str]] = {
    "kb": ("kb article", "kb articles"),
    "tickets": ("ticket", "tickets"),
    "assets": ("asset", "assets"),
    "networks": ("network", "networks"),
}

FileArg = Annotated[
    Path, typer.Argument(help="A .csv (header line first) or .json (array of objects) file.")
]
TenantOpt = Annotated[
    str | None,
    typer.Option(
        "--tenant-id", help="Tenant that owns the rows; may be omitted when only one exists."
    ),
]
SharedTenantOpt = Annotated[
    str | None,
    typer.Option("--tenant-id", help="Tenant that owns the articles; omit to share with all."),
]
ReplaceOpt = Annotated[
    bool,
    typer.Option("--replace", help="Delete the tenant's existing rows of this kind first."),
]


@app.command("kb")
def kb(file: FileArg, tenant_id: SharedTenantOpt = None, replace: ReplaceOpt = False) -> None:
    """Import KB articles: title (required), body, url, tags."""
    _run("kb", file, tenant_id, replace)


@app.command("tickets")
def tickets(file: FileArg, tenant_id: TenantOpt = None, replace: ReplaceOpt = False) -> None:
    """Import or update tickets: ticket_id, subject (required), description, resolution, ..."""
    _run("tickets", file, tenant_id, replace)


@app.command("assets")
def assets(file: FileArg, tenant_id: TenantOpt = None, replace: ReplaceOpt = False) -> None:
    """Import assets: hostname, ip (required), type, owner, location, criticality."""
    _run("assets", file, tenant_id, replace)


@app.command("networks")
def networks(file: FileArg, tenant_id: TenantOpt = None, replace: ReplaceOpt = False) -> None:
    """Import networks: cidr, name (required), site, vlan, owner."""
    _run("networks", file, tenant_id, replace)


def _run(kind: Kind, path: Path, tenant_id: str | None, replace: bool) -> None:
    settings = settings_or_exit()
    try:
        result = asyncio.run(_import(settings, kind, path, tenant_id, replace))
    except ImportFileError as exc:
        fail(str(exc), 2)
    except ValidationFailed as exc:
        for error in exc.errors[:MAX_ERRORS_SHOWN]:
            typer.echo(f"{error.field}: {error.message}", err=True)
        if len(exc.errors) > MAX_ERRORS_SHOWN:
            typer.echo(f"... and {len(exc.errors) - MAX_ERRORS_SHOWN} more", err=True)
        fail(f"Nothing imported: {len(exc.errors)} problem(s) in {path}", 1)
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        fail(f"Database error: {cause} (has `enhancer migrate` been run?)")
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    singular, plural = _NOUNS[kind]
    message = f"Imported {result.imported} {singular if result.imported == 1 else plural}"
    updated = f" ({result.updated} updated)" if result.updated else ""
    typer.echo(f"{message} from {path}{updated}")


async def _import(
    settings: Settings, kind: Kind, path: Path, tenant_id: str | None, replace: bool
) -> ImportResult:
    async with database(settings) as factory:
        tenant_id = await _tenant(factory, kind, tenant_id)
        return await import_file(
            factory, kind=kind, path=path, tenant_id=tenant_id, replace=replace
        )


async def _tenant(factory: SessionFactory, kind: Kind, given: str | None) -> str | None:
    """The tenant to import for: ``given``, or the only configured one (not for kb)."""
    if given is None and kind == "kb":
        return None
    async with factory() as session:
        known = [t.tenant_id for t in await list_tenants(session)]
    if given is not None:
        if given not in known:
            typer.echo(f"warning: tenant {given!r} is not configured", err=True)
        return given
    if len(known) == 1:
        return known[0]
    reason = f"{len(known)} tenants are configured" if known else "no tenant is configured"
    raise typer.BadParameter(f"required because {reason}", param_hint="'--tenant-id'")
