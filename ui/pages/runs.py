"""Runs (stage counts, validation report, what halted) and conflicts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from api.deps import SessionDep
from api.review.conflicts import list_catalog_conflicts, resolve
from api.review.runs import list_catalog_runs, run_detail
from api.review.schemas import MAX_ID
from catalog.errors import InputError
from ui.web import CheckedForm, CurrentViewer, catalog_for, done, nav_counts, page_url, render

router = APIRouter(prefix="/catalogs/{catalog}")
CatalogName = Annotated[str, Path(min_length=1, max_length=200)]
Id = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("/runs")
def runs(
    request: Request,
    session: SessionDep,
    viewer: CurrentViewer,
    catalog: CatalogName,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    stored = catalog_for(session, viewer, catalog)
    size = request.app.state.ui.page_size
    rows, count = list_catalog_runs(session, catalog=stored, limit=size, offset=(page - 1) * size)
    return render(
        request,
        "runs.html",
        catalog=stored,
        nav=nav_counts(session, stored),
        tab="runs",
        rows=rows,
        count=count,
        prev_url=page_url(request, page=page - 1) if page > 1 else None,
        next_url=page_url(request, page=page + 1) if page * size < count else None,
    )


@router.get("/runs/{run_id}")
def run(
    request: Request, session: SessionDep, viewer: CurrentViewer, catalog: CatalogName, run_id: Id
) -> Response:
    stored = catalog_for(session, viewer, catalog)
    detail = run_detail(session, catalog=stored, run_id=run_id)
    stages = {k: v for k, v in detail.counts.items() if isinstance(v, dict)}
    scalars = {k: v for k, v in detail.counts.items() if not isinstance(v, dict)}
    return render(
        request,
        "run.html",
        catalog=stored,
        nav=nav_counts(session, stored),
        tab="runs",
        run=detail,
        stages=stages,
        scalars=scalars,
    )


@router.get("/conflicts")
def conflicts(
    request: Request,
    session: SessionDep,
    viewer: CurrentViewer,
    catalog: CatalogName,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    stored = catalog_for(session, viewer, catalog)
    size = request.app.state.ui.page_size
    rows, count = list_catalog_conflicts(
        session, catalog=stored, limit=size, offset=(page - 1) * size
    )
    return render(
        request,
        "conflicts.html",
        catalog=stored,
        nav=nav_counts(session, stored),
        tab="conflicts",
        rows=rows,
        count=count,
        here=page_url(request),
        prev_url=page_url(request, page=page - 1) if page > 1 else None,
        next_url=page_url(request, page=page + 1) if page * size < count else None,
    )


@router.post("/conflicts/{conflict_id}/resolve")
def resolve_conflict(
    request: Request,
    session: SessionDep,
    viewer: CurrentViewer,
    catalog: CatalogName,
    conflict_id: Id,
    form: CheckedForm,
) -> Response:
    stored = catalog_for(session, viewer, catalog)
    resolution = str(form.get("resolution") or "")
    if resolution not in ("kept_existing", "accepted_new", "custom"):
        raise InputError.single(
            "resolution", "keep the existing value, accept the new one, or type one"
        )
    value = str(form.get("value") or "").strip() or None
    outcome = resolve(
        session,
        catalog=stored,
        conflict_id=conflict_id,
        resolution=resolution,
        resolver=viewer.reviewer,
        value=value,
    )
    session.commit()
    outcome.announce()
    return done(request, outcome.message, back=str(form.get("back") or ""))
