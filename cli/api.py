"""`skuflow api`: serve the HTTP API, and manage its keys (`skuflow api keys ...`)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cli.console import console

app = typer.Typer(
    no_args_is_help=False,
    invoke_without_command=True,
    help="Serve the HTTP API and the review workbench (`skuflow api --port 8000`, then "
    "open /ui) and manage API keys.",
)
keys = typer.Typer(no_args_is_help=True, help="Create, list and revoke API keys.")
app.add_typer(keys, name="keys")

OrganizationOption = Annotated[
    str, typer.Option("--organization", "--org", help="Organization the key belongs to.")
]


@app.callback()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Serve the API and the workbench with uvicorn (unless a subcommand such as `keys` is
    given)."""
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn

    from api.settings import get_api_settings
    from ui.app import create_app

    settings = get_api_settings()
    address = f"http://{host or settings.host}:{port or settings.port}"
    console.print(f"skuflow API on {address} (OpenAPI at /docs), workbench at {address}/ui")
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
    )


@keys.command("create")
def create(
    organization: OrganizationOption,
    name: Annotated[str, typer.Option(help="A label to recognise the key by.")] = "",
) -> None:
    """Issue a key and print it once (only its hash is stored)."""
    import api.models  # noqa: F401 - the API's tables
    from api.keys import create_api_key
    from catalog.db import session_scope

    with session_scope() as session:
        issued = create_api_key(session, organization=organization, name=name)
        token, lookup_id = issued.token, issued.key.lookup_id
    console.print(f"Created key {lookup_id} for organization '{organization}'.")
    console.print("Store it now; it cannot be shown again:", style="bold")
    print(token)


@keys.command("list")
def list_keys(organization: OrganizationOption) -> None:
    """The organization's keys (lookup ids only, never secrets)."""
    import api.models  # noqa: F401
    from api.keys import list_api_keys
    from catalog.db import session_scope

    table = Table(title=f"API keys of {organization}")
    for column in ("id", "name", "created", "revoked"):
        table.add_column(column)
    with session_scope() as session:
        for key in list_api_keys(session, organization=organization):
            table.add_row(
                key.lookup_id,
                key.name,
                f"{key.created_at:%Y-%m-%d %H:%M}",
                f"{key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "",
            )
    console.print(table)


@keys.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="Key id as shown by `skuflow api keys list`.")],
    organization: OrganizationOption,
) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    import api.models  # noqa: F401
    from api.keys import revoke_api_key
    from catalog.db import session_scope

    with session_scope() as session:
        revoke_api_key(session, organization=organization, lookup_id=key_id)
    console.print(f"Revoked key {key_id}.")
