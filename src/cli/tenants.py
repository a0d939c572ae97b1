"""``enhancer tenants add|list``: the SDP instances this service enhances tickets for."""

from __future__ import annotations

from typing import Annotated

import typer

from src.cli.common import database, run, settings_or_exit
from src.database.crypto import SecretBox
from src.database.repositories.tenants import list_tenants, upsert_tenant
from src.database.session import transaction

app = typer.Typer(help="Manage SDP tenants.", no_args_is_help=True)


@app.command("add")
def add(
    tenant_id: Annotated[str, typer.Argument(help="Your name for this SDP instance.")],
    base_url: Annotated[str, typer.Option(help="SDP base URL, e.g. https://sdp.example.com")],
    api_key: Annotated[str, typer.Option(help="SDP technician API key / OAuth token.")],
    webhook_secret: Annotated[
        str, typer.Option(help="Shared secret SDP sends in X-Webhook-Secret.")
    ],
    auth: Annotated[
        str, typer.Option(help="onprem (authtoken header) or cloud (Zoho OAuth).")
    ] = "onprem",
) -> None:
    """Add or update a tenant; secrets are stored encrypted and never printed."""
    settings = settings_or_exit()

    async def work() -> bool:
        async with database(settings) as factory, transaction(factory) as session:
            return await upsert_tenant(
                session,
                box=SecretBox(settings.encryption_key),
                tenant_id=tenant_id,
                base_url=base_url,
                api_key=api_key,
                webhook_secret=webhook_secret,
                auth_scheme=auth,
            )

    created = run(work)
    typer.echo(
        f"{'Added' if created else 'Updated'} tenant {tenant_id} ({auth}, {base_url.rstrip('/')})"
    )
    typer.echo(f"Webhook URL: <this service>/webhooks/servicedesk/{tenant_id}")


@app.command("list")
def list_() -> None:
    """List tenants (never their secrets)."""
    settings = settings_or_exit()

    async def work() -> list[tuple[str, str, str, bool]]:
        async with database(settings) as factory, factory() as session:
            return [
                (t.tenant_id, t.base_url, t.auth_scheme, t.enabled)
                for t in await list_tenants(session)
            ]

    rows = run(work)
    if not rows:
        typer.echo("No tenants. Add one with: enhancer tenants add TENANT_ID --base-url ...")
        return
    typer.echo(f"{'TENANT':<24} {'AUTH':<7} {'ENABLED':<8} BASE URL")
    for tenant_id, base_url, auth, enabled in rows:
        typer.echo(f"{tenant_id:<24} {auth:<7} {'yes' if enabled else 'no':<8} {base_url}")
