"""Records: search, and one record's page — each field's history as a diff, who or what
changed it, and one-click rollback of the change that holds its value now."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from api.deps import SessionDep
from api.review.records import SEARCH_COUNT_LIMIT, list_records, record_detail
from api.review.rollback import roll_back
from api.review.schemas import MAX_ID
from catalog.errors import InputError
from catalog.filters import RecordFilter
from catalog.models import IN_EFFECT
from catalog.schema import CatalogSchema
from ui.web import CheckedForm, CurrentViewer, catalog_for, done, nav_counts, page_url, render

router = APIRouter(prefix="/catalogs/{catalog}")
CatalogName = Annotated[str, Path(min_length=1, max_length=200)]


@router.get("/records")
def records(
    request: Request,
    session: SessionDep,
    viewer: CurrentViewer,
    catalog: CatalogName,
    q: Annotated[str | None, Query(max_length=200)] = None,
    category: Annotated[str | None, Query(max_length=1000)] = None,
    waiting: Annotated[bool, Query()] = False,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    stored = catalog_for(session, viewer, catalog)
    size = request.app.state.ui.page_size
    fields = {
        "category": category or None,
        "change_status": "queued_for_review" if waiting else None,
    }
    given = {k: v for k, v in fields.items() if v is not None}
    rows, count = list_records(
        session,
        catalog=stored,
        record_filter=RecordFilter(**given) if given else None,
        q=q or None,
        limit=size,
        offset=(page - 1) * size,
        exact_count=not q,  # a text search shows "50+" instead of reading every record
    )
    schema = CatalogSchema.model_validate(stored.schema)
    category_attr = schema.category_attribute
    return render(
        request,
        "records.html",
        catalog=stored,
        nav=nav_counts(session, stored),
        tab="records",
        rows=rows,
        count=count,
        q=q or "",
        category=category or "",
        waiting=waiting,
        category_field=category_attr.name if category_attr else None,
        prev_url=page_url(request, page=page - 1) if page > 1 else None,
        next_url=page_url(request, page=page + 1) if page * size < count else None,
        page=page,
        pages=max(1, -(-count // size)),
        search_limit=SEARCH_COUNT_LIMIT,
        exact=not q,
    )


@router.get("/records/{external_id:path}")
def record(
    request: Request,
    session: SessionDep,
    viewer: CurrentViewer,
    catalog: CatalogName,
    external_id: Annotated[str, Path(min_length=1, max_length=500)],
) -> Response:
    stored = catalog_for(session, viewer, catalog)
    detail = record_detail(session, catalog=stored, external_id=external_id)
    schema = CatalogSchema.model_validate(stored.schema)
    history = {f.field: f for f in detail.fields}
    # the change each field's current value comes from: the one a rollback undoes
    holding = {
        f.field: next((c for c in reversed(f.changes) if c.status in IN_EFFECT), None)
        for f in detail.fields
    }
    attributes = [a.name for a in schema.attributes]
    extra = sorted(set(detail.values) - set(attributes))
    return render(
        request,
        "record.html",
        catalog=stored,
        nav=nav_counts(session, stored),
        tab="records",
        record=detail,
        attributes=attributes + extra,
        history=history,
        holding=holding,
        derive={a.name: a.derive for a in schema.attributes},
        here=page_url(request),
    )


@router.post("/rollback")
def rollback(
    request: Request,
    session: SessionDep,
    viewer: CurrentViewer,
    catalog: CatalogName,
    form: CheckedForm,
) -> Response:
    """Roll back the named change (the record page's button names the one in effect, so
    clicking twice rolls back once)."""
    stored = catalog_for(session, viewer, catalog)
    try:
        change_id = int(str(form.get("change_id") or ""))
    except ValueError:
        raise InputError.single("change_id", "name the change to roll back") from None
    if not 1 <= change_id <= MAX_ID:
        raise InputError.single("change_id", "not a change id")
    outcome = roll_back(session, catalog=stored, reviewer=viewer.reviewer, change_id=change_id)
    session.commit()
    outcome.announce()
    return done(request, outcome.message, back=str(form.get("back") or ""))
