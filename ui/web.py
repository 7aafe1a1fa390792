"""What every workbench page shares: templates, the session cookie, sign-in and CSRF checks,
and errors rendered as pages (a 404 page for an unknown catalogue, change or record — never a
traceback)."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import func, select
from starlette.datastructures import FormData

from api.deps import SessionDep
from api.models import ApiKey
from api.review.catalogs import catalog_named
from catalog.models import Catalog, Change, ChangeStatus, Organization
from reports.page import environment
from ui.diff import inline_diff, marked, shown
from ui.session import WebSession

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
MAX_FORM_FIELDS = 2_000
log = logging.getLogger("skuflow.ui")

templates = environment(TEMPLATES)
templates.filters.update(
    {
        "shown": shown,
        "diff": inline_diff,
        "marked": marked,
        "seg": lambda value: quote(str(value), safe=""),
        "pct": lambda v: f"{100 * float(v):.0f}%",
    }
)


def _static_version() -> str:
    digest = hashlib.sha256()
    for path in sorted(STATIC.glob("*")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


STATIC_VERSION = _static_version()


class LoginRequired(Exception):
    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


class CsrfRefused(Exception):
    """A form came without this session's CSRF token (another site's form, or an old page)."""


def web_session(request: Request) -> WebSession:
    return request.state.web


def wants_json(request: Request) -> bool:
    """The page's script posts with ``X-Requested-With: skuflow`` and reads JSON back."""
    return request.headers.get("x-requested-with") == "skuflow"


@dataclass(frozen=True)
class Viewer:
    """Who is signed in: the organization, the reviewer name decisions are recorded under."""

    org: Organization
    reviewer: str
    web: WebSession


def signed_in(request: Request, session: SessionDep) -> Viewer:
    """The signed-in person; a redirect to the sign-in page otherwise (also when the API key
    the session was opened with has been revoked since)."""
    web = web_session(request)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if not web.signed_in:
        raise LoginRequired(target)
    key = session.get(ApiKey, web.key_id)
    org = session.get(Organization, web.org_id) if web.org_id is not None else None
    if key is None or key.revoked_at is not None or org is None or key.organization_id != org.id:
        web.sign_out()
        web.say("Your API key is no longer valid; sign in again.", "error")
        raise LoginRequired(target)
    return Viewer(org=org, reviewer=web.reviewer or "workbench", web=web)


CurrentViewer = Annotated[Viewer, Depends(signed_in)]


async def checked_form(request: Request) -> FormData:
    """The posted form, refused unless it carries this session's CSRF token."""
    form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    if not web_session(request).csrf_ok(form.get("csrf_token")):
        raise CsrfRefused()
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]


def catalog_for(session: Any, viewer: Viewer, name: str) -> Catalog:
    return catalog_named(session, org=viewer.org, name=name)


def nav_counts(session: Any, catalog: Catalog) -> dict[str, int]:
    """The numbers the catalogue's tabs show: queued changes, open conflicts, match proposals."""
    from enrichment.models import Conflict

    queued = session.scalar(
        select(func.count())
        .select_from(Change)
        .where(
            Change.catalog_id == catalog.id,
            Change.status == ChangeStatus.QUEUED_FOR_REVIEW.value,
        )
    )
    conflicts = session.scalar(
        select(func.count())
        .select_from(Conflict)
        .where(Conflict.catalog_id == catalog.id, Conflict.status == "open")
    )
    matches = session.scalar(
        select(func.count())
        .select_from(Change)
        .where(
            Change.catalog_id == catalog.id,
            Change.status.in_([s.value for s in ChangeStatus]),  # lets the index answer
            Change.operation == "dedupe",
        )
    )
    return {"queued": queued or 0, "conflicts": conflicts or 0, "matches": matches or 0}


def render(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """A page: the template with the session's CSRF token, messages and the app's base path."""
    web = web_session(request)
    html = templates.get_template(template).render(
        base=request.scope.get("root_path", ""),
        static_version=STATIC_VERSION,
        csrf=web.csrf,
        reviewer=web.reviewer if web.signed_in else None,
        flash=web.take_flash(),
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)


SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
"""Pages load only their own script and styles (an injected ``<script>`` could not run even if
escaping ever failed), are never framed, and are not cached (they show live data)."""


def done(
    request: Request, message: str, *, back: str, ok: bool = True, status_code: int = 200
) -> Response:
    """The answer to a form post: JSON for the page's script, else a message and a redirect
    back (post/redirect/get, so reloading does not post again)."""
    if wants_json(request):
        return JSONResponse({"ok": ok, "message": message}, status_code=status_code)
    web_session(request).say(message, "ok" if ok else "error")
    return RedirectResponse(safe_back(request, back), status_code=303)


def safe_back(request: Request, back: str | None) -> str:
    """Where to return after a post: a path inside the workbench, never another site."""
    base = request.scope.get("root_path", "")
    if back and back.startswith(base + "/") and not back.startswith("//") and "\\" not in back:
        return back
    return base + "/"


def page_url(request: Request, **changes: Any) -> str:
    """This page's URL with some query parameters replaced (None removes one)."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    return request.url.path + ("?" + urlencode(params) if params else "")
