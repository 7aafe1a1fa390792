"""The review queue: proposed against current value, confidence, evidence, filters, keyboard;
decisions one at a time, on a selection, or on everything above a confidence."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import distinct, select

from api.deps import SessionDep
from api.review.changes import (
    change_detail,
    decide,
    evidence_for,
    list_changes,
    selection_filter,
)
from api.review.schemas import MAX_ID, ChangeOrder, ChangePublic
from catalog.errors import InputError
from catalog.models import Catalog, Change, ChangeStatus, Record
from catalog.schema import CatalogSchema
from ui.web import CheckedForm, CurrentViewer, catalog_for, done, nav_counts, page_url, render

router = APIRouter(prefix="/catalogs/{catalog}")
CatalogName = Annotated[str, Path(min_length=1, max_length=200)]
ChangeId = Annotated[int, Path(ge=1, le=MAX_ID)]
Confidence = Annotated[float | None, Query(ge=0, le=1)]


@router.get("/queue")
def queue(
    request: Request,
    session: SessionDep,
    viewer: CurrentViewer,
    catalog: CatalogName,
    field: Annotated[str | None, Query(max_length=200)] = None,
    operation: Annotated[str | None, Query(max_length=50)] = None,
    min: Confidence = None,  # the query's name
    max: Confidence = None,
    run: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    order: ChangeOrder = "oldest",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    focus: Annotated[int, Query(ge=0, le=500)] = 0,
) -> Response:
    """The changes waiting for a person, with their evidence, a page at a time."""
    return _queue_page(
        request,
        session,
        viewer,
        catalog,
        field=field or None,
        operation=operation or None,
        min_confidence=min,
        max_confidence=max,
        run_id=run,
        order=order,
        page=page,
        focus=focus,
        template="queue.html",
    )


@router.get("/matches")
def matches(
    request: Request,
    session: SessionDep,
    viewer: CurrentViewer,
    catalog: CatalogName,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Match proposals (changes of the ``dedupe`` operation) waiting for a person."""
    return _queue_page(
        request,
        session,
        viewer,
        catalog,
        field=None,
        operation="dedupe",
        min_confidence=None,
        max_confidence=None,
        run_id=None,
        order="confidence_desc",
        page=page,
        focus=0,
        template="matches.html",
    )


def _queue_page(
    request: Request,
    session: SessionDep,
    viewer: CurrentViewer,
    name: str,
    *,
    field: str | None,
    operation: str | None,
    min_confidence: float | None,
    max_confidence: float | None,
    run_id: int | None,
    order: ChangeOrder,
    page: int,
    focus: int,
    template: str,
) -> Response:
    stored = catalog_for(session, viewer, name)
    size = request.app.state.ui.page_size
    where = selection_filter(
        field=field,
        operation=operation,
        run_id=run_id,
        min_confidence=min_confidence,
        max_confidence=max_confidence,
        status=ChangeStatus.QUEUED_FOR_REVIEW.value,
    )
    changes, count = list_changes(
        session, catalog=stored, where=where, order=order, limit=size, offset=(page - 1) * size
    )
    current = _current_values(session, stored, changes)
    items = [
        {
            "change": c,
            "current": current.get(c.record, {}).get(c.field),
            "evidence": evidence_for(c, current.get(c.record, {})),  # type: ignore[arg-type]
        }
        for c in changes
    ]
    filters = {
        "field": field or "",
        "operation": operation or "",
        "min": min_confidence,
        "max": max_confidence,
        "run": run_id or "",
        "order": order,
    }
    return render(
        request,
        template,
        catalog=stored,
        nav=nav_counts(session, stored),
        tab="matches" if template == "matches.html" else "queue",
        items=items,
        count=count,
        page=page,
        pages=max(1, -(-count // size)),
        focus=focus,
        filters=filters,
        fields=_fields(session, stored),
        operations=_operations(session, stored),
        prev_url=page_url(request, page=page - 1, focus=None) if page > 1 else None,
        next_url=page_url(request, page=page + 1, focus=None) if page * size < count else None,
        here=page_url(request),
        thresholds=CatalogSchema.model_validate(stored.schema).thresholds,
    )


@router.get("/changes/{change_id}")
def change_page(
    request: Request,
    session: SessionDep,
    viewer: CurrentViewer,
    catalog: CatalogName,
    change_id: ChangeId,
) -> Response:
    """One change: its evidence, its field's history, and the decision buttons."""
    stored = catalog_for(session, viewer, catalog)
    detail = change_detail(session, catalog=stored, change_id=change_id)
    record = (
        session.scalar(
            select(Record.values).where(
                Record.catalog_id == stored.id, Record.external_id == detail.record
            )
        )
        or {}
    )
    return render(
        request,
        "change.html",
        catalog=stored,
        nav=nav_counts(session, stored),
        tab="queue",
        change=detail,
        current=record.get(detail.field),
        here=page_url(request),
    )


@router.post("/changes/{change_id}/{action}")
def decide_one(
    request: Request,
    session: SessionDep,
    viewer: CurrentViewer,
    catalog: CatalogName,
    change_id: ChangeId,
    action: Literal["approve", "reject"],
    form: CheckedForm,
) -> Response:
    """Approve or reject one change (what the buttons and the a / r keys post)."""
    stored = catalog_for(session, viewer, catalog)
    outcome = decide(
        session, catalog=stored, action=action, reviewer=viewer.reviewer, ids=[change_id]
    )
    session.commit()
    outcome.announce()
    return done(request, outcome.message, back=str(form.get("back") or ""))


@router.post("/bulk")
def decide_many(
    request: Request,
    session: SessionDep,
    viewer: CurrentViewer,
    catalog: CatalogName,
    form: CheckedForm,
) -> Response:
    """Approve or reject the selected changes, or every queued change matching the filters at
    or above a confidence (``scope=matching``)."""
    stored = catalog_for(session, viewer, catalog)
    action = form.get("action")
    if action not in ("approve", "reject"):
        raise InputError.single("action", "choose approve or reject")
    if form.get("scope") == "matching":
        where = selection_filter(
            field=_text(form.get("field")),
            operation=_text(form.get("operation")),
            run_id=_number(form.get("run"), int),
            max_confidence=_number(form.get("max"), float),
            min_confidence=_number(form.get("min_confidence"), float),
        )
        if where.min_confidence is None:
            raise InputError.single("min_confidence", "give the confidence to approve above")
        outcome = decide(
            session, catalog=stored, action=action, reviewer=viewer.reviewer, where=where
        )
    else:
        ids = [_number(v, int) for v in form.getlist("ids")]
        if not ids or None in ids:
            return done(
                request,
                "Select changes first (x or the check boxes).",
                back=str(form.get("back") or ""),
                ok=False,
                status_code=400,
            )
        outcome = decide(
            session,
            catalog=stored,
            action=action,
            reviewer=viewer.reviewer,
            ids=[i for i in ids if i is not None],
        )
    session.commit()
    outcome.announce()
    return done(request, outcome.message, back=str(form.get("back") or ""))


def _current_values(
    session: SessionDep, catalog: Catalog, changes: list[ChangePublic]
) -> dict[str, dict]:
    ids = sorted({c.record for c in changes})
    if not ids:
        return {}
    rows = session.execute(
        select(Record.external_id, Record.values).where(
            Record.catalog_id == catalog.id, Record.external_id.in_(ids)
        )
    )
    return dict(rows.tuples().all())


def _fields(session: SessionDep, catalog: Catalog) -> list[str]:
    schema = CatalogSchema.model_validate(catalog.schema)
    return [a.name for a in schema.attributes]


def _operations(session: SessionDep, catalog: Catalog) -> list[str]:
    rows = session.scalars(
        select(distinct(Change.operation)).where(
            Change.catalog_id == catalog.id, Change.status == ChangeStatus.QUEUED_FOR_REVIEW.value
        )
    )
    return sorted(rows)


def _text(value: object) -> str | None:
    text = str(value or "").strip()
    return text[:200] or None


def _number(value: object, kind: type) -> int | float | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        number = kind(text)
    except ValueError:
        raise InputError.single("form", f"'{text[:40]}' is not a number") from None
    if kind is float and not 0 <= number <= 1:
        raise InputError.single("form", "a confidence is between 0 and 1")
    if kind is int and not 1 <= number <= MAX_ID:
        raise InputError.single("form", f"'{text[:40]}' is not an id")
    return number
