"""`skuflow serve`: one command for one machine — a Prefect server (started here, or the one
in --api-url / PREFECT_API_URL), skuflow's block types registered, and every deployment of
prefect.yaml served by this process (schedules, triggers, manual runs from the UI)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from cli.console import console, errors


def serve(
    api_url: Annotated[
        str | None,
        typer.Option(help="Use this Prefect server (default: PREFECT_API_URL, else start one)."),
    ] = None,
    host: Annotated[str, typer.Option(help="Host for a server started here.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port for a server started here.")] = 4200,
    server_database: Annotated[
        str | None,
        typer.Option(help="PostgreSQL URL for a started server's own database (production)."),
    ] = None,
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Serve only these deployments.")
    ] = None,
    watch: Annotated[
        Path | None, typer.Option(help="Also watch this folder and onboard files landing in it.")
    ] = None,
    watch_catalog: Annotated[
        Path, typer.Option(help="Catalogue schema for files landing in --watch.")
    ] = Path("examples/catalog.yaml"),
    limit: Annotated[int | None, typer.Option(help="Most flow runs at once.")] = None,
    deployments_file: Annotated[
        Path | None,
        typer.Option(help="A prefect.yaml of your own (default: the project's prefect.yaml)."),
    ] = None,
) -> None:
    """Serve skuflow's deployments (prefect.yaml) from this machine, with a Prefect server."""
    from catalog.settings import get_settings
    from deployments.server import is_healthy, start_server

    api_url = api_url or os.environ.get("PREFECT_API_URL")
    server = None
    if api_url:
        if not is_healthy(api_url):
            errors.print(f"[red]No healthy Prefect server at {api_url}.[/red]")
            raise typer.Exit(1)
    else:
        home = get_settings().home.resolve() / "prefect"
        console.print(f"Starting a Prefect server on {host}:{port} (home {home}) …")
        try:
            server = start_server(home=home, host=host, port=port, database_url=server_database)
        except RuntimeError as exc:  # the message ends with the server's log
            errors.print(f"[red]{exc}[/red]", highlight=False)
            raise typer.Exit(1) from None
        api_url = server.api_url
    os.environ["PREFECT_API_URL"] = api_url
    try:
        _serve(
            api_url,
            only=only,
            watch=watch,
            watch_catalog=watch_catalog,
            limit=limit,
            deployments_file=deployments_file,
        )
    finally:
        if server is not None:
            server.stop()


def _serve(
    api_url: str,
    *,
    only: list[str] | None,
    watch: Path | None,
    watch_catalog: Path,
    limit: int | None,
    deployments_file: Path | None = None,
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from deployments.blocks import register_blocks
    from deployments.serve import PREFECT_YAML, serve_all
    from deployments.watch import start_folder_watcher

    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        registration = register_blocks()
        console.print(f"Registered block types: {', '.join(registration.registered)}")
        for module, reason in registration.skipped.items():
            console.print(f"[dim]Skipped {module}: {reason}[/dim]")
        stop = None
        if watch is not None:
            stop = start_folder_watcher(watch, catalog=str(watch_catalog))
            console.print(f"Watching {watch} for supplier files.")
        console.print(f"UI: {api_url.removesuffix('/api')}  (Ctrl-C stops serving)")
        try:
            serve_all(names=only, limit=limit, path=deployments_file or PREFECT_YAML)
        finally:
            if stop is not None:
                stop.set()
