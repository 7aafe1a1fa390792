"""Request dependencies: a store session, the caller's organization, the app's services.

Every route takes ``org: CurrentOrganization`` and scopes every query by ``org.id``; a row of
another organization is reported exactly like a missing one (`owned_or_404`), so ids cannot be
probed across organizations.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.errors import not_found, unauthorized
from api.ids import as_key
from api.keys import authenticate_key
from api.settings import ApiSettings
from catalog.db import transaction
from catalog.models import Organization, Run

T = TypeVar("T")

_bearer = HTTPBearer(auto_error=False, description="An API key from `skuflow api keys create`.")


def get_session(request: Request) -> Iterator[Session]:
    """A session committed when the route returns and rolled back if it raises."""
    with transaction(request.app.state.sessions) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
"""Committed before the response is sent (``scope="function"``), so a client that got a 2xx
can rely on what it wrote being stored, and a failed commit answers with an error."""


def get_api_settings_dep(request: Request) -> ApiSettings:
    return request.app.state.settings


SettingsDep = Annotated[ApiSettings, Depends(get_api_settings_dep)]


def current_organization(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Organization:
    """The organization of the bearer key; 401 when the key is missing, unknown or revoked.
    The key's lookup id is kept on the request (``request.state.api_key``) so decisions made
    with it name it as their reviewer when the caller names none."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthorized("missing bearer API key (Authorization: Bearer <key>)")
    key = authenticate_key(session, token=credentials.credentials)
    org = None if key is None else session.get(Organization, key.organization_id)
    if key is None or org is None:
        raise unauthorized("invalid or revoked API key")
    request.state.api_key = key.lookup_id
    return org


CurrentOrganization = Annotated[Organization, Depends(current_organization)]


def owned_or_404(
    session: Session,
    model: type[T],
    ident: object,
    org: Organization,
    *,
    what: str,
    code: str = "NOT_FOUND",
) -> T:
    """The row ``ident`` of ``model`` if it belongs to ``org``; a 404 otherwise (also for a
    malformed id). ``model`` must have an ``organization_id`` column."""
    key = as_key(ident)
    if key is None:
        raise not_found(what, ident, code=code)
    row = session.get(model, key)
    if row is None or getattr(row, "organization_id", None) != org.id:
        raise not_found(what, ident, code=code)
    return row


def start_job(request: Request, session: Session, run: Run) -> None:
    """Commit the queued job, then hand it to the app's runner, which runs its flow (so the
    worker always finds the row); subscribers are notified when it ends."""
    session.commit()
    request.app.state.jobs.submit(run, on_finish=request.app.state.on_job_finish)
