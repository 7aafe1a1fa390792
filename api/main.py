"""The FastAPI app: one router per contract family, bearer keys, one error shape.

``create_app(settings)`` builds everything an app needs (migrated store, job runner, webhook
sender) so tests and `skuflow api` each get an independent app. To add a contract family,
write ``api/routes/<family>.py`` with a module-level ``router`` and add it to `ROUTERS`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from sqlalchemy.orm import sessionmaker

import api.models  # noqa: F401 - registers the API's tables with the store's metadata
from api.errors import COMMON_ERRORS, install_error_handlers
from api.jobs import JobRunner
from api.limits import BodySizeLimit, JsonNestingLimit
from api.redaction import Redactor
from api.routes import (
    auto_enrichment,
    catalog_conflicts,
    catalogs,
    changes,
    datasets,
    enrich_jobs,
    held,
    matching,
    pipeline,
    quality,
    records,
    rollback,
    runs,
    slack,
    supplier_portal,
    webhooks,
)
from api.settings import ApiSettings, get_api_settings
from api.webhooks import WebhookSender, job_notifier
from catalog.db import engine_for

ROUTERS: tuple[APIRouter, ...] = (
    pipeline.router,
    auto_enrichment.router,
    webhooks.router,
    datasets.router,
    enrich_jobs.router,
    supplier_portal.router,
    catalogs.router,
    records.router,
    changes.router,
    rollback.router,
    catalog_conflicts.router,
    runs.router,
    held.router,
    quality.router,
    slack.router,
    matching.router,
)
"""The contract families' routers, included in this order."""


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """An app over the store ``settings`` name (migrated on creation)."""
    settings = settings or get_api_settings()
    sessions = sessionmaker(engine_for(settings.resolved_store_url), expire_on_commit=False)
    sender = WebhookSender(
        sessions,
        timeout=settings.webhook_timeout,
        attempts=settings.webhook_attempts,
        backoff=settings.webhook_backoff,
    )
    on_job_finish = job_notifier(sessions, sender)
    runner = JobRunner(
        sessions,
        settings=settings,
        workers=settings.job_workers,
        mode=settings.jobs,
        lease_seconds=settings.job_lease_seconds,
        on_finish=on_job_finish,
        redactor=Redactor.for_settings(settings),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        runner.start_sweeper()  # jobs left by a process that died are taken over
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
    app.state.on_job_finish = on_job_finish
    install_error_handlers(app)
    app.add_middleware(JsonNestingLimit)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)  # outermost

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        """Liveness: the process is up (no key needed)."""
        return {"status": "ok"}

    for router in ROUTERS:
        app.include_router(router, responses=COMMON_ERRORS)
    return app
