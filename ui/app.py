"""The app `skuflow api` serves: the HTTP API, with the workbench mounted under ``/ui``.

The API knows nothing of the workbench (``api`` never imports ``ui``); the workbench is its own
FastAPI app sharing the API's store, so its errors render as pages and its routes stay out of
the OpenAPI document.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.main import create_app as create_api_app
from api.settings import ApiSettings
from catalog.errors import InputError, NotFound, StateConflict
from catalog.settings import read_settings
from reports.page import TEMPLATES_DIR as REPORT_TEMPLATES
from ui.pages import analyse, auth, records, review, runs
from ui.session import COOKIE, SessionCodec, WebSession
from ui.settings import UiSettings, signing_secret
from ui.web import STATIC, CsrfRefused, LoginRequired, done, render, wants_json

log = logging.getLogger("skuflow.ui")


def create_app(settings: ApiSettings | None = None, ui: UiSettings | None = None) -> FastAPI:
    """The API app with the workbench at ``/ui`` (and ``/`` sending browsers there)."""
    app = create_api_app(settings)
    app.mount("/ui", workbench(app, ui or read_settings(UiSettings)))

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=307)

    return app


def workbench(api_app: FastAPI, settings: UiSettings) -> FastAPI:
    """The workbench as an app over ``api_app``'s store."""
    web = FastAPI(title="skuflow workbench", openapi_url=None, docs_url=None, redoc_url=None)
    web.state.sessions = api_app.state.sessions
    web.state.settings = api_app.state.settings
    web.state.ui = settings
    secret = signing_secret(settings, api_app.state.settings.resolved_home)
    codec = SessionCodec(secret, max_age=settings.session_hours * 3600)

    @web.middleware("http")
    async def session_cookie(request: Request, call_next) -> Response:
        session = codec.load(request.cookies.get(COOKIE))
        if session is None:
            session = WebSession(dirty=True)
        request.state.web = session
        response = await call_next(request)
        if session.dirty:
            response.set_cookie(
                COOKIE,
                codec.dump(session),
                max_age=codec.max_age,
                path="/ui",
                httponly=True,
                samesite="lax",
                secure=settings.secure_cookies,
            )
        return response

    @web.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        if wants_json(request):
            return Response(
                '{"ok": false, "message": "sign in again"}', 401, media_type="application/json"
            )
        base = request.scope.get("root_path", "")
        from urllib.parse import urlencode

        return RedirectResponse(f"{base}/login?{urlencode({'next': exc.next_url})}", 303)

    @web.exception_handler(CsrfRefused)
    async def _csrf(request: Request, _exc: CsrfRefused) -> Response:
        message = (
            "This form was refused: it did not carry this session's security token (it may "
            "come from an old page or another site). Reload the page and try again."
        )
        if wants_json(request):
            return Response(
                f'{{"ok": false, "message": "{message}"}}', 403, media_type="application/json"
            )
        return render(request, "error.html", status_code=403, title="Form refused", message=message)

    @web.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> Response:
        if wants_json(request):
            return done(request, str(exc), back="", ok=False, status_code=404)
        return render(request, "error.html", status_code=404, title="Not found", message=str(exc))

    @web.exception_handler(StateConflict)
    async def _conflict(request: Request, exc: StateConflict) -> Response:
        back = request.headers.get("referer", "")
        from urllib.parse import urlsplit

        parts = urlsplit(back)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return done(request, str(exc), back=path, ok=False, status_code=409)

    @web.exception_handler(InputError)
    async def _input(request: Request, exc: InputError) -> Response:
        return render(
            request, "error.html", status_code=400, title="Cannot do that", message=str(exc)
        )

    @web.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'input'}: {e.get('msg')}"
            for e in exc.errors()[:5]
        )
        return render(
            request,
            "error.html",
            status_code=400,
            title="Bad request",
            message=problems or "the request does not fit this page",
        )

    @web.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        title = "Not found" if exc.status_code == 404 else "Request refused"
        message = "There is no such page." if exc.status_code == 404 else str(exc.detail)
        return render(
            request, "error.html", status_code=exc.status_code, title=title, message=message
        )

    @web.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("workbench page failed: %s", request.url.path)
        return render(
            request,
            "error.html",
            status_code=500,
            title="Something went wrong",
            message="The page failed; the error is in the server's log. Nothing you "
            "submitted was half-done: each action is one transaction.",
        )

    @web.get("/static/analyse.css", include_in_schema=False)
    def analyse_css() -> FileResponse:
        return FileResponse(REPORT_TEMPLATES / "analyse.css", media_type="text/css")

    web.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (auth, review, records, runs, analyse):
        web.include_router(module.router)
    return web
