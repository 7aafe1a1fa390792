"""Enrichment jobs (seed 003, ``/api/public/enrich``): submit items with an output schema, sync
or async; poll with pagination and partial results; list jobs; cancel; a completion webhook.

The completion webhook is the contract's flat JSON body, one attempt, 30 s timeout, sent like
every skuflow webhook: through the outbound URL policy (checked when the job is submitted and
again when it is sent) and signed (``X-Skuflow-Timestamp``, ``X-Skuflow-Signature``, see
`catalog.signing`) with the request's ``webhook_secret``, or one generated and returned once
in the submit response. It is sent by the app's webhook sender, in the organization's turn.

At most `MAX_RUNNING_JOBS` jobs run per organization; the next one gets 429 with the
contract's detail. Credits: one per successfully enriched item, charged as its batch completes
(a cancelled job keeps, and is charged for, what it finished).
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import threading
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy.orm import Session, sessionmaker

from api.datasets.ids import NulFreeModel
from api.deps import CurrentOrganization, SessionDep
from api.enrich_jobs import service
from api.enrich_jobs.models import JOB_OPERATION
from api.errors import ApiError
from api.ids import Offset
from api.outbound import check_literal_url, require_public_url
from api.settings import ApiSettings
from catalog.models import Catalog, Run, RunStatus
from catalog.webhooks.models import WebhookDelivery
from enrichment.output_schema import OutputSchema

router = APIRouter(prefix="/api/public/enrich", tags=["enrichment jobs"])
log = logging.getLogger("skuflow.api.enrich_jobs")

MAX_ITEMS = 10_000
WEBHOOK_TIMEOUT = 30.0
WEBHOOK_SECRET = "webhook_secret"
"""Where a job keeps its webhook's signing key: in its stored params, beside the URL (as a
subscription keeps its secret in its row); never shown by the API."""


class EnrichRequest(NulFreeModel):
    """Every parameter the contract documents; items are JSON objects, output_schema the
    fields to fill (name, type, description, unit, enum, sample_values, array_element_type,
    items_enum, required, merge)."""

    model_config = ConfigDict(extra="forbid")

    items: list[dict[str, Any]] = Field(default_factory=list, max_length=MAX_ITEMS)
    output_schema: list[dict[str, Any]] = Field(default_factory=list, max_length=500)
    prompt: str = Field("", max_length=10_000)
    speed: Literal["fast", "medium", "slow", "cheap"] = "medium"
    allowed_domains: list[Annotated[str, Field(max_length=255)]] | None = Field(
        None, max_length=200
    )
    web_search: bool = True
    taxonomy: dict[str, Any] | list[Any] | None = None
    predict_taxonomy: bool = False
    quality_prompt: str | None = Field(None, max_length=10_000)
    validate_semantics: bool = False
    catalog_id: str | None = Field(None, max_length=200)
    async_mode: bool = False
    max_rows: int | None = Field(None, ge=1)
    source_activity_id: str | None = Field(None, max_length=64)
    include_source_explanations: bool = False
    webhook_url: str | None = Field(None, max_length=2000)
    webhook_secret: str | None = Field(
        None,
        min_length=16,
        max_length=200,
        description="Key the completion webhook is signed with; generated (and returned once "
        "as webhook_secret) when a webhook_url comes without one.",
    )

    @field_validator("webhook_url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        """HTTPS only, as the contract says; plain http is accepted for a receiver on this
        machine (loopback, which the outbound URL policy still has to let through), where
        there is no network to protect. Then the outbound URL policy."""
        if value is None:
            return None
        parts = urlsplit(value)
        if not parts.hostname:
            raise ValueError("webhook_url must be an absolute https:// URL")
        if parts.scheme == "https" or (parts.scheme == "http" and _loopback(parts.hostname)):
            return check_literal_url(value)
        raise ValueError("webhook_url must use HTTPS")

    @model_validator(mode="after")
    def _something_to_do(self) -> EnrichRequest:
        if not self.items and self.source_activity_id is None:
            raise ValueError("items must hold at least one object (or give source_activity_id)")
        if not self.output_schema and self.catalog_id is None and not self.source_activity_id:
            raise ValueError(
                "output_schema must list at least one field (or give catalog_id, or resume a "
                "job with source_activity_id)"
            )
        if self.predict_taxonomy and self.taxonomy is None and self.catalog_id is None:
            raise ValueError("predict_taxonomy needs a taxonomy (or a catalog_id with one)")
        return self


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class EnrichResponse(BaseModel):
    job_id: str
    results: list[dict[str, Any]]
    total_items: int
    total_rows: int
    successful: int
    credits_used: int
    status: str
    webhook_secret: str | None = Field(
        None, description="The completion webhook's signing key, when skuflow generated it."
    )


class PollResponse(BaseModel):
    job_id: str
    status: str
    results: list[dict[str, Any]]
    total_items: int
    completed_items: int
    successful: int
    credits_used: int
    page: int
    page_size: int
    total_pages: int
    service_usage: dict[str, Any] | None = None


class JobSummary(BaseModel):
    job_id: str
    status: str
    total_items: int
    completed_items: int
    failed_items: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobList(BaseModel):
    jobs: list[JobSummary]
    total: int


class CancelResponse(BaseModel):
    success: bool
    message: str
    completed_items: int
    credits_used: int


def _job_params(
    request: EnrichRequest,
    output_schema: list[dict[str, Any]],
    catalog: Catalog | None,
    settings: ApiSettings,
) -> dict[str, Any]:
    options: dict[str, Any] = {
        "speed": request.speed,
        "web_search": request.web_search,
        "allowed_domains": list(request.allowed_domains or []),
        "prompt": request.prompt,
        "quality_prompt": request.quality_prompt,
        "validate_semantics": request.validate_semantics,
    }
    if catalog is not None:
        options |= {
            "auto_apply": catalog.auto_apply,
            "reject": catalog.reject,
            "companies_path": str(settings.companies) if settings.companies else None,
            "models_dir": str(settings.resolved_home / "models"),
        }
    return {
        "output_schema": output_schema,
        "options": options,
        "taxonomy": request.taxonomy,
        "predict_taxonomy": request.predict_taxonomy,
        "include_source_explanations": request.include_source_explanations,
        "webhook_url": request.webhook_url,
        WEBHOOK_SECRET: request.webhook_secret,
        "max_rows": request.max_rows,
        "source_activity_id": request.source_activity_id,
        "catalog_id": request.catalog_id,
    }


def _completion_webhook(sessions: sessionmaker[Session], run_id: int) -> int | None:
    """The contract's completion POST as a stored delivery (the delivery log shows it), or
    None when the job has no ``webhook_url`` or did not complete."""
    with sessions() as session, session.begin():
        run = session.get(Run, run_id)
        url = (run.params or {}).get("webhook_url")
        if not url or run.status != RunStatus.COMPLETED.value:
            return None
        counts = service.job_counts(run)
        payload = {
            "job_id": str(run.id),
            "status": "completed",
            "successful": counts["successful_so_far"],
            "failed": counts["failed_items"],
            "total": counts["successful_so_far"] + counts["failed_items"],
            "credits_used": int(run.credits),
        }
        delivery = WebhookDelivery(
            organization_id=run.organization_id,
            run_id=run.id,
            url=url,
            event="enrich.job.completed",
            payload=payload,
            status="pending",
            attempts=0,
        )
        session.add(delivery)
        session.flush()
        return delivery.id


def _webhook_secret(sessions: sessionmaker[Session], run_id: int) -> str | None:
    with sessions() as session:
        return (session.get(Run, run_id).params or {}).get(WEBHOOK_SECRET)


@router.post("")
def submit(
    body: EnrichRequest, request: Request, session: SessionDep, org: CurrentOrganization
) -> EnrichResponse:
    """Enrich items. Synchronous by default (the response holds every result); with
    ``async_mode`` it returns at once with the job id to poll."""
    require_public_url(body.webhook_url, field="webhook_url")
    catalog = None
    output_schema = body.output_schema
    taxonomy = body.taxonomy
    if body.catalog_id is not None:
        from api.enrich_jobs.catalog import taxonomy_of
        from catalog.repository import catalog_schema
        from enrichment.catalog_fields import catalog_output_fields

        catalog = service.find_catalog(session, organization_id=org.id, catalog_id=body.catalog_id)
        output_schema = output_schema or catalog_output_fields(catalog_schema(catalog))
        taxonomy = taxonomy or taxonomy_of(session, catalog)
        if not output_schema:
            raise ApiError(422, f"catalog {body.catalog_id} has no model-filled attributes")
        if body.predict_taxonomy and taxonomy is None:
            raise ApiError(422, f"catalog {body.catalog_id} has no taxonomy to predict from")
    if not output_schema and body.source_activity_id is not None:
        previous = service.get_job(session, organization_id=org.id, job_id=body.source_activity_id)
        output_schema = previous.params["output_schema"]  # a resume keeps the job's fields
    OutputSchema.parse(output_schema)  # InputError -> 422 naming the field
    if body.predict_taxonomy:
        from api.enrich_jobs.taxonomy import read_taxonomy

        read_taxonomy(taxonomy)
    params = _job_params(body, output_schema, catalog, request.app.state.settings)
    params["taxonomy"] = taxonomy
    generated = None
    if body.webhook_url and not body.webhook_secret:
        generated = params[WEBHOOK_SECRET] = secrets.token_urlsafe(32)
    run = service.submit_job(
        session,
        organization=org,
        items=body.items,
        params=params,
        max_rows=body.max_rows,
        source_activity_id=body.source_activity_id,
        catalog=catalog,
    )
    session.commit()
    done = threading.Event()
    sessions = request.app.state.sessions
    generic = request.app.state.on_job_finish
    sender = request.app.state.webhooks

    def on_finish(run_id: int) -> None:
        try:
            delivery_id = _completion_webhook(sessions, run_id)
            if delivery_id is not None:
                sender.dispatch(
                    [delivery_id],
                    attempts=1,
                    timeout=WEBHOOK_TIMEOUT,
                    secret=_webhook_secret(sessions, run_id),
                    envelope=False,
                )
            generic(run_id)
        finally:
            done.set()

    request.app.state.jobs.submit(run, on_finish=on_finish)
    if not body.async_mode:
        done.wait()
        session.refresh(run)
    counts = service.job_counts(run)
    finished = service.finished(run)
    return EnrichResponse(
        job_id=str(run.id),
        results=service.results_page(session, run=run, page=1, page_size=MAX_ITEMS)
        if finished
        else [],
        total_items=counts["total_items"],
        total_rows=counts["total_rows"],
        successful=counts["successful_so_far"] if finished else 0,
        credits_used=int(run.credits) if finished else 0,
        status=service.public_status(run),
        webhook_secret=generated,
    )


@router.get("/jobs")
def list_jobs(
    session: SessionDep,
    org: CurrentOrganization,
    status: Literal["running", "completed", "failed", "cancelled"] | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Offset = 0,
) -> JobList:
    """The organization's jobs, newest first, optionally by status."""
    runs, total = service.list_jobs(
        session, organization_id=org.id, status=status, limit=limit, offset=offset
    )
    jobs = []
    for run in runs:
        counts = service.job_counts(run)
        jobs.append(
            JobSummary(
                job_id=str(run.id),
                status="running" if run.status in service.ACTIVE else run.status,
                total_items=counts["total_items"],
                completed_items=counts["completed_items"],
                failed_items=counts["failed_items"],
                created_at=run.created_at,
                started_at=run.started_at,
                finished_at=run.finished_at,
            )
        )
    return JobList(jobs=jobs, total=total)


@router.get("/{job_id}")
def poll(
    job_id: str,
    session: SessionDep,
    org: CurrentOrganization,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_ITEMS)] = 1000,
) -> PollResponse:
    """Status and one page of the results available so far (they grow while it runs)."""
    run = service.get_job(session, organization_id=org.id, job_id=job_id)
    available = service.item_count(session, run=run)
    finished = service.finished(run)
    counts = service.job_counts(run)
    return PollResponse(
        job_id=str(run.id),
        status=service.public_status(run),
        results=service.results_page(session, run=run, page=page, page_size=page_size),
        total_items=counts["total_items"],
        completed_items=available,
        successful=counts["successful_so_far"] if finished else 0,
        credits_used=int(run.credits) if finished else 0,
        page=page,
        page_size=page_size,
        total_pages=-(-available // page_size),
        service_usage=_usage(run) if finished else None,
    )


def _usage(run: Run) -> dict[str, Any]:
    counts = run.counts or {}
    usage: dict[str, Any] = {
        "credits": int(run.credits),
        "items_enriched": int(counts.get("completed", 0)),
        "items_failed": int(counts.get("failed", 0)),
        "operation": JOB_OPERATION,
    }
    if "changes" in counts:
        usage["catalog_changes"] = counts["changes"]
    if run.started_at and run.finished_at:
        usage["duration_seconds"] = round((run.finished_at - run.started_at).total_seconds(), 3)
    return usage


@router.post("/{job_id}/cancel")
def cancel(job_id: str, session: SessionDep, org: CurrentOrganization) -> CancelResponse:
    """Cancel a running job; items already processed are kept and only they are charged."""
    run = service.get_job(session, organization_id=org.id, job_id=job_id)
    service.cancel(session, run=run)
    session.commit()
    session.refresh(run)
    return CancelResponse(
        success=True,
        message=f"Activity {run.id} cancelled",
        completed_items=service.item_count(session, run=run),
        credits_used=int(run.credits),
    )
