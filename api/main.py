"""The FastAPI app: one router per contract family, bearer keys, one error shape.

``create_app(settings)`` builds everything an app needs (migrated store, job runner, webhook
sender) so tests and `skuflow api` each get an independent app. To add a contract family,
write ``api/routes/<family>.py`` with a module-level ``router`` and add its name to
`ROUTER_MODULES`.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.orm import sessionmaker

import api.models  # noqa: F401 - registers the API's tables with the store's metadata
from api.errors import COMMON_ERRORS, ApiError, error_response, install_error_handlers
from api.jobs import JobRunner
from api.settings import ApiSettings, get_api_settings
from api.webhooks import WebhookSender, job_notifier
from catalog.db import engine_for

ROUTER_MODULES: tuple[str, ...] = (
    "pipeline",
    "auto_enrichment",
    "webhooks",
    "datasets",
    "enrich_jobs",
    "supplier_portal",
)
"""Modules under ``api/routes`` whose ``router`` the app includes, in this order."""


class BodySizeLimit:
    """Refuse request bodies over ``max_bytes`` with 413, whether or not the client sent a
    Content-Length (a chunked upload is counted as it arrives)."""

    def __init__(self, app, max_bytes: int) -> None:  # noqa: ANN001
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = refused = False

        async def limited_receive():  # noqa: ANN202
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    if not started and not refused:
                        refused = True
                        await self._refuse(scope, receive, send)
                    raise _TooLarge
            return message

        async def tracked_send(message) -> None:  # noqa: ANN001
            nonlocal started
            if refused:
                return  # the 413 went out; drop what the app answers to the aborted read
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracked_send)
        except _TooLarge:
            pass

    async def _refuse(self, scope, receive, send) -> None:  # noqa: ANN001
        response = error_response(ApiError(413, f"request body larger than {self.max_bytes} bytes"))
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """An app over the store ``settings`` name (migrated on creation)."""
    settings = settings or get_api_settings()
    sessions = sessionmaker(engine_for(settings.resolved_store_url), expire_on_commit=False)
    runner = JobRunner(sessions, workers=settings.job_workers, backend=settings.jobs)
    sender = WebhookSender(
        sessions,
        timeout=settings.webhook_timeout,
        attempts=settings.webhook_attempts,
        backoff=settings.webhook_backoff,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        runner.shutdown(wait=False)
        sender.shutdown(wait=False)

    app = FastAPI(
        title="skuflow API",
        version="0.1.0",
        description="Catalogue operations over HTTP: the pipeline, enrichment jobs, dataset "
        "tasks and auto-enrichment contracts, served from the skuflow store.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.sessions = sessions
    app.state.jobs = runner
    app.state.webhooks = sender
    app.state.on_job_finish = job_notifier(sessions, sender)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        """Liveness: the process is up (no key needed)."""
        return {"status": "ok"}

    for name in ROUTER_MODULES:
        router = importlib.import_module(f"api.routes.{name}").router
        app.include_router(router, responses=COMMON_ERRORS)
    return app
