"""Shared CLI plumbing: opening the store and picking the catalogue a command acts on."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from cli.console import errors

CatalogOption = Annotated[
    str | None,
    typer.Option("--catalog", "-c", help="Catalogue name (optional when there is only one)."),
]
ReviewerOption = Annotated[
    str | None, typer.Option("--reviewer", help="Who decides (defaults to your user name).")
]


@contextmanager
def open_catalog(name: str | None) -> Iterator[tuple[object, object]]:
    """A committed-on-success session and the chosen catalogue."""
    from catalog.db import session_scope
    from catalog.repository import get_catalog, list_catalogs
    from catalog.settings import get_settings

    organization = get_settings().organization
    with session_scope() as session:
        if name is None:
            catalogs = list_catalogs(session, organization=organization)
            if len(catalogs) != 1:
                names = ", ".join(c.name for c in catalogs) or "none yet"
                errors.print(f"[red]Pick a catalogue with --catalog (have: {names}).[/red]")
                raise typer.Exit(1)
            stored = catalogs[0]
        else:
            stored = get_catalog(session, organization=organization, name=name)
        yield session, stored


def reviewer_name(given: str | None) -> str:
    return given or getpass.getuser()
