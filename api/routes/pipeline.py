"""Pipeline API (seed 000): ``/api/ingest``, ``/api/classify``, ``/api/enrich``, ``/api/sync``,
and the jobs they create (``/api/jobs``).

Ingest and sync answer at once with a job id and run in the background; classify and enrich
answer in the response. Up to 10,000 records per call.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import func, select

from api.deps import CurrentOrganization, SessionDep, SettingsDep, start_job
from api.errors import ApiError
from api.ids import BoundedId, Offset
from api.jobs import as_utc, cancel_job
from api.pipeline import service
from api.pipeline.schemas import (
    ClassifyRequest,
    ClassifyResponse,
    EnrichRequest,
    EnrichResponse,
    IngestRequest,
    IngestResponse,
    JobPublic,
    JobsPublic,
    SyncRequest,
    SyncResponse,
)
from catalog.models import Run

router = APIRouter(prefix="/api", tags=["pipeline"])

_PROGRESS_KEYS = {"total", "completed", "failed", "errors"}
SYNC_ROWS_PER_SECOND = 5000


def job_public(run: Run) -> JobPublic:
    counts: dict[str, Any] = dict(run.counts or {})
    return JobPublic(
        job_id=run.id,
        operation=run.operation,
        status=run.status,
        record_count=int(counts.get("total", 0)),
        completed=int(counts.get("completed", 0)),
        failed=int(counts.get("failed", 0)),
        credits_used=float(run.credits or 0),
        errors=list(counts.get("errors") or []),
        result={k: v for k, v in counts.items() if k not in _PROGRESS_KEYS},
        error=run.error,
        created_at=as_utc(run.created_at),
        started_at=as_utc(run.started_at),
        finished_at=as_utc(run.finished_at),
    )


@router.post("/ingest", status_code=202)
def ingest(
    body: IngestRequest,
    request: Request,
    session: SessionDep,
    org: CurrentOrganization,
) -> IngestResponse:
    """Queue raw product/supplier records for processing: they are stored in the source's
    catalogue, then classified. Poll ``GET /api/jobs/{job_id}``."""
    run = service.start_ingest(session, org=org, request=body)
    start_job(request, session, run)
    return IngestResponse(
        job_id=run.id,
        status=run.status,
        record_count=len(body.records),
        created_at=as_utc(run.created_at),
    )


@router.post("/classify")
def classify(
    body: ClassifyRequest, session: SessionDep, org: CurrentOrganization, settings: SettingsDep
) -> ClassifyResponse:
    """Classify products into the taxonomy with the job's catalogue classifier."""
    classifications = service.classify(session, org=org, settings=settings, request=body)
    return ClassifyResponse(
        job_id=body.job_id,
        classified_count=sum(c.category is not None for c in classifications),
        classifications=classifications,
    )


@router.post("/enrich")
def enrich(
    body: EnrichRequest, session: SessionDep, org: CurrentOrganization, settings: SettingsDep
) -> EnrichResponse:
    """Firmographics (employee range, revenue band, industry) for companies, from the
    configured reference table; unmatched companies come back empty with confidence 0."""
    enrichments = service.enrich(session, org=org, settings=settings, companies=body.records)
    return EnrichResponse(
        enriched_count=sum(e.matched for e in enrichments), enrichments=enrichments
    )


@router.post("/sync", status_code=202)
def sync(
    body: SyncRequest,
    request: Request,
    session: SessionDep,
    org: CurrentOrganization,
) -> SyncResponse:
    """Push the job's records (or inline ``data``) to the destination configured for
    ``destination``, as json, csv or xml. Poll ``GET /api/sync/{sync_id}``."""
    run = service.start_sync(session, org=org, request=body)
    rows = run.counts.get("total", 0)
    start_job(request, session, run)
    return SyncResponse(
        sync_id=run.id,
        job_id=body.job_id,
        destination=body.destination,
        status="processing",
        estimated_completion=f"{max(1, math.ceil(rows / SYNC_ROWS_PER_SECOND))}s",
    )


@router.get("/sync/{sync_id}")
def get_sync(sync_id: BoundedId, session: SessionDep, org: CurrentOrganization) -> JobPublic:
    return job_public(service.get_job(session, org=org, job_id=sync_id, operation="sync"))


@router.get("/jobs")
def list_jobs(
    session: SessionDep,
    org: CurrentOrganization,
    operation: str | None = None,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Offset = 0,
) -> JobsPublic:
    where = [Run.organization_id == org.id]
    if operation:
        where.append(Run.operation == operation)
    if status:
        where.append(Run.status == status)
    total = session.scalar(select(func.count()).select_from(Run).where(*where)) or 0
    runs = session.scalars(
        select(Run).where(*where).order_by(Run.id.desc()).limit(limit).offset(offset)
    ).all()
    return JobsPublic(data=[job_public(r) for r in runs], count=total)


@router.get("/jobs/{job_id}")
def get_job(job_id: BoundedId, session: SessionDep, org: CurrentOrganization) -> JobPublic:
    return job_public(service.get_job(session, org=org, job_id=job_id))


@router.post("/jobs/{job_id}/cancel")
def cancel(job_id: BoundedId, session: SessionDep, org: CurrentOrganization) -> JobPublic:
    """Stop a queued or running job; what it finished is kept."""
    run = service.get_job(session, org=org, job_id=job_id)
    if not cancel_job(session, run=run):
        raise ApiError(409, f"job {job_id} is {run.status}", code="JOB_NOT_CANCELLABLE")
    return job_public(run)
