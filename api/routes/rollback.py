"""``POST /api/catalogs/{catalog}/rollback``: undo a field, a change or a run."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import SessionDep
from api.errors import COMMON_ERRORS, ErrorBody
from api.review.changes import public_changes
from api.review.deps import CurrentCatalog, reviewer_or_key
from api.review.rollback import roll_back
from api.review.schemas import RollbackPublic, RollbackRequest

router = APIRouter(prefix="/api/catalogs/{catalog}", tags=["rollback"], responses=COMMON_ERRORS)


@router.post(
    "/rollback",
    responses={
        404: {"model": ErrorBody, "description": "Unknown catalogue, record, change or run."},
        409: {"model": ErrorBody, "description": "Not in effect; nothing changed."},
    },
)
def rollback(
    request: Request, session: SessionDep, catalog: CurrentCatalog, body: RollbackRequest
) -> RollbackPublic:
    """Restore previous values; each undo is itself a change (operation ``rollback``), and
    ``skuflow.change.rolled_back`` is emitted after the commit."""
    outcome = roll_back(
        session,
        catalog=catalog,
        reviewer=reviewer_or_key(request, body.reviewer),
        record=body.record,
        field=body.field,
        change_id=body.change_id,
        run_id=body.run_id,
    )
    session.commit()
    outcome.announce()
    return RollbackPublic(
        rolled_back=[c.id for c in outcome.originals],
        undo=public_changes(session, catalog=catalog, changes=outcome.undo),
        message=outcome.message,
    )
