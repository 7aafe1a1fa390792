"""``/api/catalogs/{catalog}/held``: source rows held back because they broke a blocking rule
(the catalogue's `on_invalid`), each with its values and reasons; the catalogue kept its
current values for them."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.deps import SessionDep
from api.errors import COMMON_ERRORS, ErrorBody
from api.review.deps import CurrentCatalog
from api.review.held import held_rows
from api.review.schemas import MAX_ID, HeldRowsPublic, Limit, Offset

router = APIRouter(
    prefix="/api/catalogs/{catalog}/held",
    tags=["held rows"],
    responses=COMMON_ERRORS | {404: {"model": ErrorBody, "description": "Unknown catalogue."}},
)


@router.get("")
def get_held_rows(
    session: SessionDep,
    catalog: CurrentCatalog,
    status: Literal["held", "resolved", "all"] = "held",
    run_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> HeldRowsPublic:
    """Held rows, oldest first: still held (default), resolved by a later file, or all."""
    data, count = held_rows(
        session,
        catalog=catalog,
        status=None if status == "all" else status,
        run_id=run_id,
        limit=limit,
        offset=offset,
    )
    return HeldRowsPublic(data=data, count=count)
