"""Analyse: the data-quality page — the same sections the weekly quality report writes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import SessionDep
from reports.page import analyse_context, render_quality_page
from reports.quality import cached_quality_report
from ui.web import CurrentViewer, catalog_for, nav_counts, render

router = APIRouter(prefix="/catalogs/{catalog}")
CatalogName = Annotated[str, Path(min_length=1, max_length=200)]


@router.get("/analyse")
def analyse(
    request: Request, session: SessionDep, viewer: CurrentViewer, catalog: CatalogName
) -> Response:
    stored = catalog_for(session, viewer, catalog)
    report = cached_quality_report(session, catalog=stored)
    return render(
        request,
        "analyse.html",
        catalog=stored,
        nav=nav_counts(session, stored),
        tab="analyse",
        **analyse_context(report),
    )


@router.get("/analyse.html")
def analyse_file(
    request: Request, session: SessionDep, viewer: CurrentViewer, catalog: CatalogName
) -> Response:
    """The page as one self-contained file (what the weekly report writes), to download."""
    stored = catalog_for(session, viewer, catalog)
    html = render_quality_page(cached_quality_report(session, catalog=stored))
    return HTMLResponse(
        html,
        headers={
            "Content-Disposition": f'attachment; filename="quality-{stored.id}.html"',
            "Content-Security-Policy": "default-src 'none'; img-src data:; "
            "style-src 'unsafe-inline'",
        },
    )
