"""Auto-enrichment (seed 004): ``/v1/auto-enrichment`` config, jobs, conflicts, stats,
pause/resume and credits."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from sqlalchemy import select

from api.auto_enrichment import service
from api.auto_enrichment.schemas import (
    ConfigFields,
    ConfigPublic,
    ConfigUpdate,
    ConflictPublic,
    ConflictsPublic,
    CreditsPublic,
    EntityType,
    JobPublic,
    JobsPublic,
    JobStatus,
    PauseState,
    ResolveRequest,
    StatsPublic,
)
from api.deps import CurrentOrganization, SessionDep, SettingsDep
from api.errors import ApiError
from api.ids import Offset
from api.jobs import as_utc
from api.models import AutoEnrichmentSettings
from api.usage import usage_breakdown
from catalog.models import Run
from enrichment.conflicts import resolve_conflict
from enrichment.models import Conflict, ConflictResolution, ConflictStatus

router = APIRouter(prefix="/v1/auto-enrichment", tags=["auto-enrichment"])

RESOLUTIONS = {
    "keep_existing": ConflictResolution.KEPT_EXISTING,
    "accept_new": ConflictResolution.ACCEPTED_NEW,
    "custom": ConflictResolution.CUSTOM,
}


def _config(row: AutoEnrichmentSettings) -> ConfigPublic:
    return ConfigPublic(
        **service.read_config(row).model_dump(),
        paused=row.paused,
        updated_at=as_utc(row.updated_at),
    )


def _job(run: Run) -> JobPublic:
    counts: dict[str, Any] = run.counts or {}
    params: dict[str, Any] = run.params or {}
    return JobPublic(
        id=str(run.id),
        entityType=params.get("entity_type", "product"),
        status=run.status,
        trigger=params.get("trigger", ""),
        total=int(counts.get("total", 0)),
        processed=int(counts.get("completed", 0)),
        failed=int(counts.get("failed", 0)),
        conflicts=int(counts.get("conflicts", 0)),
        credits_used=float(run.credits or 0),
        error=run.error,
        failures=list(counts.get("failures") or []),
        created_at=as_utc(run.created_at),
        started_at=as_utc(run.started_at),
        finished_at=as_utc(run.finished_at),
    )


def _conflict(c: Conflict) -> ConflictPublic:
    return ConflictPublic(
        id=str(c.id),
        job_id=str(c.run_id) if c.run_id else None,
        record_id=c.record_key,
        field=c.field,
        existing_value=c.existing_value,
        proposed_value=c.proposed_value,
        confidence=c.confidence,
        sources=list(c.sources or []),
        explanation=c.explanation,
        status=c.status,
        resolution=c.resolution,
        resolved_value=c.resolved_value,
        resolver=c.resolver,
        created_at=as_utc(c.created_at),
        resolved_at=as_utc(c.resolved_at),
    )


@router.get("/config")
def get_config(session: SessionDep, org: CurrentOrganization) -> ConfigPublic:
    """The organization's auto-enrichment configuration (defaults until changed)."""
    return _config(service.settings_row(session, org=org))


@router.patch("/config")
def patch_config(body: ConfigUpdate, session: SessionDep, org: CurrentOrganization) -> ConfigPublic:
    """Change the fields given; the others keep their values."""
    return _config(service.update_config(session, org=org, update=body))


@router.put("/config")
def put_config(body: ConfigFields, session: SessionDep, org: CurrentOrganization) -> ConfigPublic:
    """Replace the configuration; fields left out take their defaults."""
    return _config(service.replace_config(session, org=org, config=body))


@router.get("/jobs")
def list_jobs(
    session: SessionDep,
    org: CurrentOrganization,
    entityType: EntityType | None = None,  # the contract's spelling
    status: JobStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Offset = 0,
) -> JobsPublic:
    """Enrichment jobs, newest first, by entity type and status."""
    where = [Run.organization_id == org.id, Run.operation == service.OPERATION]
    if status:
        where.append(Run.status == status)
    runs = session.scalars(select(Run).where(*where).order_by(Run.id.desc())).all()
    if entityType:
        runs = [r for r in runs if (r.params or {}).get("entity_type") == entityType]
    return JobsPublic(data=[_job(r) for r in runs[offset : offset + limit]], count=len(runs))


@router.get("/jobs/{id}")
def get_job(id: str, session: SessionDep, org: CurrentOrganization) -> JobPublic:
    return _job(service.get_job(session, org=org, job_id=id))


@router.post("/jobs/{id}/retry", status_code=202)
def retry_job(
    id: str,
    request: Request,
    session: SessionDep,
    org: CurrentOrganization,
) -> JobPublic:
    """Queue a failed or cancelled job again (it waits while the pipeline is paused)."""
    run = service.retry_job(session, run=service.get_job(session, org=org, job_id=id))
    paused = service.settings_row(session, org=org).paused
    session.commit()
    if not paused:
        request.app.state.jobs.submit(run, on_finish=request.app.state.on_job_finish)
    return _job(run)


@router.get("/conflicts")
def list_conflicts(
    session: SessionDep,
    org: CurrentOrganization,
    status: Annotated[
        str, Query(pattern="^(open|resolved|all)$", description="open (default), resolved, all")
    ] = "open",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
) -> ConflictsPublic:
    """Enrichment values that disagree with a non-empty existing value, for review."""
    rows, total = service.conflicts_of(
        session, org=org, status=None if status == "all" else status, limit=limit, offset=offset
    )
    return ConflictsPublic(data=[_conflict(c) for c in rows], count=total)


def _resolve(
    session: SessionDep, org: CurrentOrganization, id: str, body: ResolveRequest
) -> ConflictPublic:
    conflict = service.get_conflict(session, org=org, conflict_id=id)
    if conflict.status == ConflictStatus.RESOLVED.value:
        raise ApiError(409, f"conflict {id} is already resolved", code="CONFLICT_ALREADY_RESOLVED")
    resolved = resolve_conflict(
        session,
        organization_id=org.id,
        conflict_id=conflict.id,
        resolution=RESOLUTIONS[body.resolution].value,
        resolver=body.resolver or f"api:{org.name}",
        value=body.value,
    )
    return _conflict(resolved)


@router.post("/conflicts/{id}/resolve")
def resolve_post(
    id: str,
    session: SessionDep,
    org: CurrentOrganization,
    body: Annotated[ResolveRequest | None, Body()] = None,
) -> ConflictPublic:
    """Resolve a conflict; with no body the existing value is kept."""
    return _resolve(session, org, id, body or ResolveRequest())


@router.put("/conflicts/{id}/resolve")
def resolve_put(
    id: str,
    body: ResolveRequest,
    session: SessionDep,
    org: CurrentOrganization,
) -> ConflictPublic:
    """Resolve a conflict as the body says (keep_existing, accept_new, or custom with value)."""
    return _resolve(session, org, id, body)


@router.get("/stats")
def get_stats(session: SessionDep, org: CurrentOrganization) -> StatsPublic:
    stats = service.stats(session, org=org)
    stats["last_job_at"] = as_utc(stats["last_job_at"])
    return StatsPublic(**stats)


@router.post("/pause")
def pause(session: SessionDep, org: CurrentOrganization) -> PauseState:
    """Stop starting this organization's enrichment jobs (new ones wait as queued).

    Only the calling organization is paused: the installation's deployment schedules serve
    every organization, so they are switched by an administrator (`skuflow schedules pause`),
    never by one organization's key."""
    row = service.settings_row(session, org=org)
    row.paused = True
    session.commit()
    return PauseState(paused=True)


@router.post("/resume")
def resume(
    request: Request, session: SessionDep, org: CurrentOrganization, settings: SettingsDep
) -> PauseState:
    """Start this organization's enrichment again, including the jobs that queued while
    paused (the installation's schedules are not touched)."""
    row = service.settings_row(session, org=org)
    row.paused = False
    session.commit()
    state = request.app.state
    service.submit_queued(
        state.sessions, state.jobs, settings, state.on_job_finish, organization_id=org.id
    )
    return PauseState(paused=False)


@router.get("/credits")
def credits(session: SessionDep, org: CurrentOrganization) -> CreditsPublic:
    """Auto-enrichment credits used this month against the monthly limit; all credits (every
    operation) in total, by operation, and by day this month."""
    config = service.read_config(service.settings_row(session, org=org))
    start = service.month_start()
    month = usage_breakdown(session, organization_id=org.id, since=start)
    everything = usage_breakdown(session, organization_id=org.id)
    used = service.credits_this_month(session, organization_id=org.id)
    limit = config.monthly_credit_limit
    return CreditsPublic(
        period_start=start,
        used_this_period=used,
        monthly_limit=limit,
        remaining=None if limit is None else max(0.0, limit - used),
        total=everything["total"],
        by_operation=everything["by_operation"],
        by_day=month["by_day"],
    )
