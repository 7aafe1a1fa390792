"""``/api/catalogs/{catalog}/conflicts``: found values that disagree with existing ones."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from api.deps import SessionDep
from api.errors import COMMON_ERRORS, ErrorBody
from api.review.conflicts import list_catalog_conflicts, resolve
from api.review.deps import CurrentCatalog, reviewer_or_key
from api.review.schemas import (
    BoundedId,
    ConflictResolvePublic,
    ConflictResolveRequest,
    ConflictsPublic,
    Limit,
    Offset,
)

router = APIRouter(
    prefix="/api/catalogs/{catalog}/conflicts",
    tags=["conflicts"],
    responses=COMMON_ERRORS | {404: {"model": ErrorBody, "description": "Unknown catalogue."}},
)


@router.get("")
def get_conflicts(
    session: SessionDep,
    catalog: CurrentCatalog,
    status: Literal["open", "resolved", "all"] = "open",
    field: Annotated[str | None, Query(max_length=200)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> ConflictsPublic:
    """The catalogue's conflicts (open ones by default), oldest first."""
    data, count = list_catalog_conflicts(
        session,
        catalog=catalog,
        status=None if status == "all" else status,
        field=field,
        limit=limit,
        offset=offset,
    )
    return ConflictsPublic(data=data, count=count)


@router.post(
    "/{conflict_id}/resolve",
    responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
)
def resolve_conflict(
    request: Request,
    session: SessionDep,
    catalog: CurrentCatalog,
    conflict_id: BoundedId,
    body: ConflictResolveRequest,
) -> ConflictResolvePublic:
    """Keep the existing value, accept the proposed one, or set a custom one (written as an
    audited change that can be rolled back)."""
    outcome = resolve(
        session,
        catalog=catalog,
        conflict_id=conflict_id,
        resolution=body.resolution,
        resolver=reviewer_or_key(request, body.resolver),
        value=body.value,
    )
    session.commit()
    outcome.announce()
    return ConflictResolvePublic(
        conflict=outcome.conflict, changed=outcome.changed, message=outcome.message
    )
