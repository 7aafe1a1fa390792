"""`skuflow taxonomy import|list|show|diff|remap`: taxonomies as versioned objects in the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.console import console
from cli.store import CatalogOption, open_catalog

app = typer.Typer(
    no_args_is_help=True, help="Import, list, inspect, compare and upgrade taxonomy versions."
)

NameArgument = Annotated[str, typer.Argument(help="Taxonomy name.")]
SHOWN = 20


def _organization(session):
    from catalog.repository import get_or_create_organization
    from catalog.settings import get_settings

    return get_or_create_organization(session, name=get_settings().organization)


@app.command("import")
def import_(
    source: Annotated[
        Path,
        typer.Argument(
            help="Google text, Shopify categories.txt or release folder, CSV id,path, YAML, "
            "or one path per line."
        ),
    ],
    name: Annotated[str | None, typer.Option(help="Name to store it under.")] = None,
    version: Annotated[
        str | None, typer.Option(help="Version (default: the file's own, else content hash).")
    ] = None,
) -> None:
    """Store a taxonomy version (importing the same version twice is a no-op)."""
    from catalog.db import session_scope
    from taxonomy.importers import load_taxonomy
    from taxonomy.store import save_taxonomy

    taxonomy = load_taxonomy(source, name=name)
    if version:
        taxonomy.version = version
    with session_scope() as session:
        stored = save_taxonomy(session, organization=_organization(session), taxonomy=taxonomy)
        console.print(
            f"Taxonomy '{stored.name}' version {stored.version}: {len(taxonomy)} categories, "
            f"{len(taxonomy.attributes)} with attributes."
        )


@app.command("list")
def list_() -> None:
    """Stored taxonomy versions."""
    from sqlalchemy import func, select

    from catalog.db import session_scope
    from catalog.models import TaxonomyNode
    from taxonomy.store import list_taxonomies

    with session_scope() as session:
        stored = list_taxonomies(session, organization=_organization(session))
        sizes = dict(
            session.execute(
                select(TaxonomyNode.taxonomy_id, func.count()).group_by(TaxonomyNode.taxonomy_id)
            ).all()
        )
        table = Table(title="Taxonomies")
        for column in ("name", "version", "categories", "imported"):
            table.add_column(column)
        for item in stored:
            table.add_row(
                item.name,
                item.version,
                str(sizes.get(item.id, 0)),
                f"{item.created_at:%Y-%m-%d %H:%M}" if item.created_at else "",
            )
    console.print(table)


@app.command()
def show(
    name: NameArgument,
    version: Annotated[str | None, typer.Option(help="Version (default: newest).")] = None,
    node: Annotated[
        str | None, typer.Option(help="A category (id, path or name) to show in detail.")
    ] = None,
) -> None:
    """A version's top-level categories, or one category with its children and attributes."""
    from catalog.db import session_scope
    from catalog.errors import NotFound
    from taxonomy.store import find_taxonomy, load_stored

    with session_scope() as session:
        stored = find_taxonomy(
            session, organization=_organization(session), name=name, version=version
        )
        taxonomy = load_stored(session, stored)
    console.print(
        f"[bold]{taxonomy.name}[/bold] {taxonomy.version}: {len(taxonomy)} categories, "
        f"depth {taxonomy.depth}"
    )
    if node is None:
        for root in taxonomy.roots():
            console.print(f"  {root.id}  {root.name}", highlight=False)
        return
    found = taxonomy.resolve(node)
    if found is None:
        raise NotFound(f"no category {node!r} in {taxonomy.name} {taxonomy.version}")
    console.print(f"{found.id}  {found.path_text}", highlight=False)
    for child in taxonomy.children(found.id)[:SHOWN]:
        console.print(f"  child {child.id}  {child.name}", highlight=False)
    for attribute in taxonomy.attributes_of(found.id):
        values = ", ".join(attribute.values[:8]) + (" …" if len(attribute.values) > 8 else "")
        console.print(f"  attribute {attribute.handle}: {values}", highlight=False)


@app.command()
def diff(
    name: NameArgument,
    old: Annotated[str, typer.Argument(help="Older version.")],
    new: Annotated[str, typer.Argument(help="Newer version.")],
) -> None:
    """Categories added, removed and moved/renamed between two stored versions."""
    from catalog.db import session_scope
    from taxonomy.store import find_taxonomy, load_stored
    from taxonomy.versions import diff_taxonomies

    with session_scope() as session:
        org = _organization(session)
        before = load_stored(
            session, find_taxonomy(session, organization=org, name=name, version=old)
        )
        after = load_stored(
            session, find_taxonomy(session, organization=org, name=name, version=new)
        )
    change = diff_taxonomies(before, after)
    console.print(
        f"{name} {old} → {new}: {len(change.added)} added, {len(change.removed)} removed, "
        f"{len(change.moved)} moved or renamed."
    )
    for node_id in change.added[:SHOWN]:
        console.print(f"  + {node_id}  {after[node_id].path_text}", highlight=False)
    for node_id in change.removed[:SHOWN]:
        console.print(f"  - {node_id}  {before[node_id].path_text}", highlight=False)
    for node_id, was, now in change.moved[:SHOWN]:
        console.print(f"  ~ {node_id}  {was} → {now}", highlight=False)


@app.command()
def remap(
    name: NameArgument,
    version: Annotated[str, typer.Argument(help="The new version to move the catalogue to.")],
    catalog: CatalogOption = None,
) -> None:
    """Move a catalogue's category assignments to another stored version: by id, then by
    path; the rest are queued for review."""
    from catalog.repository import catalog_schema
    from taxonomy.store import find_taxonomy, load_stored, remap_catalog

    with open_catalog(catalog) as (session, stored_catalog):
        org = _organization(session)
        target = load_stored(
            session, find_taxonomy(session, organization=org, name=name, version=version)
        )
        counts = remap_catalog(
            session,
            catalog_id=stored_catalog.id,
            schema=catalog_schema(stored_catalog),
            new=target,
        )
    console.print(
        f"Re-mapped to {name} {version}: {counts['unchanged']} unchanged, {counts['id']} by id, "
        f"{counts['path']} by path, {counts['review']} queued for review."
    )
