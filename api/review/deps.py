"""Dependencies of the change API: the catalogue a path names, the default reviewer."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from api.deps import CurrentOrganization, SessionDep
from api.review.catalogs import catalog_named
from catalog.models import Catalog


def path_catalog(
    catalog: Annotated[str, Path(min_length=1, max_length=200, description="Catalogue name.")],
    session: SessionDep,
    org: CurrentOrganization,
) -> Catalog:
    return catalog_named(session, org=org, name=catalog)


CurrentCatalog = Annotated[Catalog, Depends(path_catalog)]
"""The caller's catalogue named in the path (404 when it has none of that name)."""


def reviewer_or_key(request: Request, reviewer: str | None) -> str:
    """The reviewer a request names, or its API key (``api-key:<lookup id>``) when it names
    none, so every decision says who made it."""
    return reviewer or f"api-key:{getattr(request.state, 'api_key', 'unknown')}"
