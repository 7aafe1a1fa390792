"""``/api/catalogs/{catalog}/runs``: the catalogue's runs, their counts and reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import SessionDep
from api.errors import COMMON_ERRORS, ErrorBody
from api.review.deps import CurrentCatalog
from api.review.runs import list_catalog_runs, run_detail
from api.review.schemas import BoundedId, Limit, Offset, RunDetail, RunsPublic

router = APIRouter(
    prefix="/api/catalogs/{catalog}/runs",
    tags=["runs"],
    responses=COMMON_ERRORS | {404: {"model": ErrorBody, "description": "Unknown catalogue."}},
)


@router.get("")
def get_runs(
    session: SessionDep,
    catalog: CurrentCatalog,
    operation: Annotated[str | None, Query(max_length=50)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> RunsPublic:
    """Runs on this catalogue, newest first."""
    data, count = list_catalog_runs(
        session, catalog=catalog, operation=operation, status=status, limit=limit, offset=offset
    )
    return RunsPublic(data=data, count=count)


@router.get("/{run_id}", responses={404: {"model": ErrorBody}})
def get_run(session: SessionDep, catalog: CurrentCatalog, run_id: BoundedId) -> RunDetail:
    """One run: stage counts, its changes by status, the error that halted it, and its
    validation report."""
    return run_detail(session, catalog=catalog, run_id=run_id)
