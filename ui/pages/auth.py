"""Signing in with an API key (then a session cookie), signing out, the list of catalogues."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select

from api.deps import SessionDep
from api.keys import authenticate_key
from api.review.catalogs import catalogs_of
from catalog.models import Change, ChangeStatus, Record
from ui.web import CheckedForm, CurrentViewer, render, safe_back, web_session

router = APIRouter()
MAX_NAME = 200


@router.get("/login")
def login_page(
    request: Request, next: Annotated[str | None, Query(max_length=2000)] = None
) -> Response:
    return render(request, "login.html", next=safe_back(request, next), error=None)


@router.post("/login")
def login(request: Request, session: SessionDep, form: CheckedForm) -> Response:
    """Check the key; on success open a signed-in session under the reviewer's name."""
    token = str(form.get("api_key") or "").strip()
    name = " ".join(str(form.get("reviewer") or "").split())[:MAX_NAME]
    target = safe_back(request, str(form.get("next") or ""))
    key = authenticate_key(session, token=token) if token else None
    if key is None or not name:
        error = "Give your name." if key is not None else "That API key is not valid (or revoked)."
        return render(request, "login.html", status_code=401, next=target, error=error, name=name)
    web_session(request).sign_in(key_id=key.id, org_id=key.organization_id, reviewer=name)
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
def logout(request: Request, form: CheckedForm) -> Response:
    web_session(request).sign_out()
    return RedirectResponse(request.scope.get("root_path", "") + "/login", status_code=303)


@router.get("/")
def catalogues(request: Request, session: SessionDep, viewer: CurrentViewer) -> Response:
    """The organization's catalogues, each with its size and review queue."""
    catalogs = catalogs_of(session, org=viewer.org)
    ids = [c.id for c in catalogs]
    records = dict(
        session.execute(
            select(Record.catalog_id, func.count())
            .where(Record.catalog_id.in_(ids))
            .group_by(Record.catalog_id)
        )
        .tuples()
        .all()
    )
    queued = dict(
        session.execute(
            select(Change.catalog_id, func.count())
            .where(
                Change.catalog_id.in_(ids), Change.status == ChangeStatus.QUEUED_FOR_REVIEW.value
            )
            .group_by(Change.catalog_id)
        )
        .tuples()
        .all()
    )
    rows = [
        {"catalog": c, "records": records.get(c.id, 0), "queued": queued.get(c.id, 0)}
        for c in catalogs
    ]
    return render(request, "catalogs.html", org=viewer.org, rows=rows)
