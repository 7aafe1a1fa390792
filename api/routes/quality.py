"""``GET /api/catalogs/{catalog}/quality``: the data-quality report (the Analyse page's data)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import SessionDep
from api.errors import COMMON_ERRORS, ErrorBody
from api.review.deps import CurrentCatalog
from reports.quality import QualityReport, cached_quality_report

router = APIRouter(
    prefix="/api/catalogs/{catalog}",
    tags=["quality"],
    responses=COMMON_ERRORS | {404: {"model": ErrorBody, "description": "Unknown catalogue."}},
)


@router.get("/quality")
def get_quality(session: SessionDep, catalog: CurrentCatalog) -> QualityReport:
    """Completeness per attribute, confidence per field, reliability from review decisions,
    the review queue over time, and the latest validation's failures."""
    return cached_quality_report(session, catalog=catalog)
