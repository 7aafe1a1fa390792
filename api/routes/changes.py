"""``/api/catalogs/{catalog}/changes``: the review queue and every other change; decisions.

Approving or rejecting a change that already has that decision answers 200 and changes
nothing (``changed: false``); one that someone decided otherwise answers 409 and changes
nothing. Decision events (``skuflow.change.approved|rejected``) are emitted after the commit.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query, Request

from api.deps import SessionDep
from api.errors import COMMON_ERRORS, ErrorBody
from api.review.changes import change_detail, decide, list_changes, public_changes, selection_filter
from api.review.deps import CurrentCatalog, reviewer_or_key
from api.review.schemas import (
    MAX_ID,
    BoundedId,
    BulkDecisionPublic,
    BulkDecisionRequest,
    ChangeDecisionPublic,
    ChangeDetail,
    ChangeOrder,
    ChangesPublic,
    ChangeStatusName,
    DecisionRequest,
    Limit,
    Offset,
)

router = APIRouter(
    prefix="/api/catalogs/{catalog}/changes",
    tags=["changes"],
    responses=COMMON_ERRORS | {404: {"model": ErrorBody, "description": "Unknown catalogue."}},
)
CONFLICT = {409: {"model": ErrorBody, "description": "No longer queued; nothing changed."}}


@router.get("")
def get_changes(
    session: SessionDep,
    catalog: CurrentCatalog,
    status: ChangeStatusName | None = None,
    field: Annotated[str | None, Query(max_length=200)] = None,
    operation: Annotated[str | None, Query(max_length=50)] = None,
    min_confidence: Annotated[float | None, Query(ge=0, le=1, description="At or above.")] = None,
    max_confidence: Annotated[float | None, Query(ge=0, le=1, description="Below.")] = None,
    run_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    record: Annotated[str | None, Query(max_length=500, description="External id.")] = None,
    order: ChangeOrder = "oldest",
    limit: Limit = 50,
    offset: Offset = 0,
) -> ChangesPublic:
    """Changes by status (``queued_for_review`` is the review queue), field, operation,
    confidence band, run or record."""
    where = selection_filter(
        field=field,
        operation=operation,
        run_id=run_id,
        min_confidence=min_confidence,
        max_confidence=max_confidence,
        status=status,
    )
    data, count = list_changes(
        session,
        catalog=catalog,
        where=where,
        record=record,
        order=order,
        limit=limit,
        offset=offset,
    )
    return ChangesPublic(data=data, count=count)


@router.get("/{change_id}", responses={404: {"model": ErrorBody}})
def get_change(session: SessionDep, catalog: CurrentCatalog, change_id: BoundedId) -> ChangeDetail:
    """One change with its evidence and its field's history."""
    return change_detail(session, catalog=catalog, change_id=change_id)


def _decide_one(
    action: Literal["approve", "reject"],
    request: Request,
    session: SessionDep,
    catalog: CurrentCatalog,
    change_id: BoundedId,
    body: DecisionRequest | None,
) -> ChangeDecisionPublic:
    reviewer = reviewer_or_key(request, body.reviewer if body else None)
    outcome = decide(session, catalog=catalog, action=action, reviewer=reviewer, ids=[change_id])
    session.commit()
    outcome.announce()
    change = (outcome.decided or outcome.unchanged)[0]
    public = public_changes(session, catalog=catalog, changes=[change])[0]
    return ChangeDecisionPublic(
        change=public, changed=bool(outcome.decided), message=outcome.message
    )


@router.post("/{change_id}/approve", responses={404: {"model": ErrorBody}} | CONFLICT)
def approve_change(
    request: Request,
    session: SessionDep,
    catalog: CurrentCatalog,
    change_id: BoundedId,
    body: Annotated[DecisionRequest | None, Body()] = None,
) -> ChangeDecisionPublic:
    """Apply a queued change to its record (idempotent)."""
    return _decide_one("approve", request, session, catalog, change_id, body)


@router.post("/{change_id}/reject", responses={404: {"model": ErrorBody}} | CONFLICT)
def reject_change(
    request: Request,
    session: SessionDep,
    catalog: CurrentCatalog,
    change_id: BoundedId,
    body: Annotated[DecisionRequest | None, Body()] = None,
) -> ChangeDecisionPublic:
    """Close a queued change without applying it (idempotent)."""
    return _decide_one("reject", request, session, catalog, change_id, body)


def _decide_many(
    action: Literal["approve", "reject"],
    request: Request,
    session: SessionDep,
    catalog: CurrentCatalog,
    body: BulkDecisionRequest,
) -> BulkDecisionPublic:
    reviewer = reviewer_or_key(request, body.reviewer)
    where = selection_filter(**body.filter.model_dump()) if body.filter is not None else None
    outcome = decide(
        session, catalog=catalog, action=action, reviewer=reviewer, ids=body.ids, where=where
    )
    session.commit()
    outcome.announce()
    return BulkDecisionPublic(
        status=outcome.status,
        decided=len(outcome.decided),
        ids=[c.id for c in outcome.decided],
        unchanged=[c.id for c in outcome.unchanged],
        message=outcome.message,
    )


@router.post("/approve", responses={404: {"model": ErrorBody}} | CONFLICT)
def approve_changes(
    request: Request, session: SessionDep, catalog: CurrentCatalog, body: BulkDecisionRequest
) -> BulkDecisionPublic:
    """Approve queued changes by ids (all or nothing) or by filter (e.g. at or above 0.8)."""
    return _decide_many("approve", request, session, catalog, body)


@router.post("/reject", responses={404: {"model": ErrorBody}} | CONFLICT)
def reject_changes(
    request: Request, session: SessionDep, catalog: CurrentCatalog, body: BulkDecisionRequest
) -> BulkDecisionPublic:
    """Reject queued changes by ids (all or nothing) or by filter."""
    return _decide_many("reject", request, session, catalog, body)
