"""Finding the catalogue a route names, within the caller's organization only."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.errors import NotFound
from catalog.models import Catalog, Organization
from catalog.schema import CatalogSchema


def catalog_named(session: Session, *, org: Organization, name: str) -> Catalog:
    """The organization's catalogue called ``name``; NotFound (404) otherwise, including when
    another organization has one of that name."""
    catalog = session.scalar(
        select(Catalog).where(Catalog.organization_id == org.id, Catalog.name == name)
    )
    if catalog is None:
        raise NotFound(f"catalogue '{name}' not found")
    return catalog


def catalogs_of(session: Session, *, org: Organization) -> list[Catalog]:
    return list(
        session.scalars(
            select(Catalog).where(Catalog.organization_id == org.id).order_by(Catalog.name)
        )
    )


def title_attribute(catalog: Catalog) -> str | None:
    """The attribute that names a record for people (the schema's first text attribute that is
    not the id), or None."""
    schema = CatalogSchema.model_validate(catalog.schema)
    for name in schema.text or []:
        if name != schema.id:
            return name
    return None
