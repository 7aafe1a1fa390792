"""`skuflow schedules pause|resume`: the installation-wide switch for the schedules of every
skuflow deployment.

This is an administrator's command, run where the Prefect server is reachable
(``PREFECT_API_URL``). The API's ``/v1/auto-enrichment/pause`` pauses only the calling
organization's auto-enrichment; no organization's key reaches the installation's schedules.
"""

from __future__ import annotations

import typer

from cli.console import console, errors

app = typer.Typer(
    no_args_is_help=True,
    help="Pause or resume the schedules of every skuflow deployment (installation-wide).",
)


@app.command()
def pause() -> None:
    """Deactivate the active schedules of the skuflow-tagged deployments (triggers go on)."""
    from deployments.schedules import pause_all

    try:
        paused = pause_all()
    except Exception as exc:  # shown to the administrator, then exit 1
        errors.print(f"[red]could not pause the schedules:[/] {type(exc).__name__}: {exc}")
        raise typer.Exit(1) from None
    console.print(f"paused {len(paused)} schedule(s): {', '.join(paused) or '-'}")


@app.command()
def resume() -> None:
    """Reactivate exactly the schedules `skuflow schedules pause` deactivated."""
    from deployments.schedules import resume_all

    try:
        resumed = resume_all()
    except Exception as exc:  # shown to the administrator, then exit 1
        errors.print(f"[red]could not resume the schedules:[/] {type(exc).__name__}: {exc}")
        raise typer.Exit(1) from None
    console.print(f"resumed {len(resumed)} schedule(s): {', '.join(resumed) or '-'}")
