"""Auto-enrichment: settings per organization, jobs started when records arrive, conflicts.

A job enriches the arrived records through the one enrich stage (`enrichment.stage`), as
onboard and enrich jobs do: record text, the catalogue's learned extractor, reference
companies, web pages when enabled. Found values become scored changes (applied, queued for
review or dropped by the thresholds); a value that disagrees with a non-empty existing one
becomes a `Conflict` (policy ``review``), is skipped (``keep_existing``) or is proposed as a
change like any other (``overwrite``). One credit per record enriched, at most once per job,
and never past the monthly limit.

While paused, triggered jobs wait as ``queued``; resuming starts them. The pause is the
organization's own: the installation's deployment schedules are an administrator's switch
(`skuflow schedules pause`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from api.auto_enrichment.schemas import ConfigFields, ConfigUpdate
from api.errors import ApiError, not_found
from api.ids import as_key
from api.jobs import FINISHED, JobContext, JobRunner, create_job
from api.models import AutoEnrichmentSettings, UsageEntry
from api.settings import ApiSettings
from catalog.models import (
    Catalog,
    Change,
    ChangeStatus,
    Organization,
    Record,
    Run,
    RunStatus,
    utcnow,
)
from catalog.schema import Thresholds
from enrichment.config import EnrichConfig
from enrichment.models import Conflict
from enrichment.stage import enrich_stored_records, prepare_enrichment

OPERATION = "auto_enrich"
"""The jobs' operation (runs and credits); their changes are the enrich stage's (`enrich`)."""
CHUNK = 500
_STATUSES = {s.value for s in ChangeStatus}


# -- settings ----------------------------------------------------------------------------------


def settings_row(session: Session, *, org: Organization) -> AutoEnrichmentSettings:
    """The organization's settings row, created with the defaults on first use (two requests
    racing to create it both end up with the one row)."""
    row = session.get(AutoEnrichmentSettings, org.id)
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = AutoEnrichmentSettings(
                organization_id=org.id, config=ConfigFields().model_dump(mode="json"), paused=False
            )
            session.add(row)
    except IntegrityError:
        row = session.get(AutoEnrichmentSettings, org.id, populate_existing=True)
    return row


def read_config(row: AutoEnrichmentSettings) -> ConfigFields:
    return ConfigFields.model_validate(row.config or {})


def replace_config(
    session: Session, *, org: Organization, config: ConfigFields
) -> AutoEnrichmentSettings:
    row = settings_row(session, org=org)
    row.config = config.model_dump(mode="json")
    row.updated_at = utcnow()
    session.flush()
    return row


def update_config(
    session: Session, *, org: Organization, update: ConfigUpdate
) -> AutoEnrichmentSettings:
    """Merge the given fields into the stored config and validate the result as a whole."""
    row = settings_row(session, org=org)
    merged = {
        **read_config(row).model_dump(mode="json"),
        **update.model_dump(mode="json", exclude_unset=True),
    }
    merged = {k: v for k, v in merged.items() if v is not None or k == "monthly_credit_limit"}
    try:
        config = ConfigFields.model_validate(merged)
    except ValueError as exc:
        raise ApiError(422, f"config: {exc}") from exc
    return replace_config(session, org=org, config=config)


# -- jobs --------------------------------------------------------------------------------------


def get_job(session: Session, *, org: Organization, job_id: str) -> Run:
    key = as_key(job_id)
    run = session.get(Run, key) if key is not None else None
    if run is None or run.organization_id != org.id or run.operation != OPERATION:
        raise not_found("enrichment job", job_id, code="JOB_NOT_FOUND")
    return run


def start_jobs(
    session: Session,
    *,
    org: Organization,
    catalog_id: int,
    created: list[str],
    updated: list[str],
) -> list[Run]:
    """The jobs an ingest triggers under the organization's config (none when disabled).
    Queued; the caller submits them unless the pipeline is paused."""
    row = settings_row(session, org=org)
    config = read_config(row)
    catalog = session.get(Catalog, catalog_id)
    entity = "company" if catalog.kind == "suppliers" else "product"
    if (
        not config.enabled
        or entity not in config.entity_types
        or config.output_schema(entity) is None
    ):
        return []
    ids = (created if "on_create" in config.triggers else []) + (
        updated if "on_update" in config.triggers else []
    )
    if not ids:
        return []
    trigger = "on_create" if created and "on_create" in config.triggers else "on_update"
    return [
        create_job(
            session,
            organization=org,
            operation=OPERATION,
            catalog_id=catalog_id,
            total=len(ids),
            params={"entity_type": entity, "trigger": trigger, "external_ids": ids},
        )
    ]


def retry_job(session: Session, *, run: Run) -> Run:
    """Queue a failed (or cancelled) job again; items it already charged stay charged once."""
    if run.status not in (RunStatus.FAILED.value, RunStatus.CANCELLED.value):
        raise ApiError(
            409,
            f"job {run.id} is {run.status}; only failed or cancelled jobs can be retried",
            code="JOB_NOT_RETRYABLE",
        )
    from flows.support.runs import requeue_job

    return requeue_job(session, run=run)


def submit_queued(
    sessions: sessionmaker[Session],
    runner: JobRunner,
    settings: ApiSettings,
    on_finish: Any,
    *,
    organization_id: int,
) -> int:
    """Hand every queued job of the organization to the runner (after a resume)."""
    with sessions() as session:
        queued = session.scalars(
            select(Run)
            .where(
                Run.organization_id == organization_id,
                Run.operation == OPERATION,
                Run.status == RunStatus.QUEUED.value,
            )
            .order_by(Run.id)
        ).all()
    for run in queued:
        runner.submit(run, on_finish=on_finish)
    return len(queued)


def month_start(now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def credits_this_month(session: Session, *, organization_id: int) -> float:
    return float(
        session.scalar(
            select(func.coalesce(func.sum(UsageEntry.credits), 0.0)).where(
                UsageEntry.organization_id == organization_id,
                UsageEntry.operation == OPERATION,
                UsageEntry.created_at >= month_start(),
            )
        )
    )


def enrich_config(config: ConfigFields, settings: ApiSettings) -> EnrichConfig:
    """The organization's auto-enrichment settings as the enrich stage's config."""
    from api.enrich_jobs.engine import FetchSettings
    from catalog.settings import read_settings

    fetch = read_settings(FetchSettings)
    providers = ["record", "learned", "reference"] + (["web"] if config.web_search else [])
    return EnrichConfig(
        providers=providers,
        web_search=config.web_search,
        companies_path=str(settings.companies) if settings.companies else None,
        thresholds=Thresholds(auto_apply=config.auto_apply, reject=config.reject),
        conflicts=config.conflict_policy,
        per_host_interval=fetch.fetch_interval,
        allow_addresses=list(fetch.allow),
    )


def auto_enrich_work(settings: ApiSettings):
    """The job: prepare the enrich stage once (the catalogue's learned extractor trained or
    reused), then enrich the records in chunks; a chunk that fails is retried record by
    record, so one bad record fails alone."""

    def work(ctx: JobContext) -> dict[str, Any]:
        params = ctx.params
        entity = params["entity_type"]
        with ctx.session() as session:
            run = session.get(Run, ctx.run_id)
            org = session.get(Organization, run.organization_id)
            config = read_config(settings_row(session, org=org))
            output = config.output_schema(entity)
            if output is None:
                raise ValueError(f"the config has no fields for entity type '{entity}'")
            ids = list(
                session.scalars(
                    select(Record.id)
                    .where(
                        Record.catalog_id == run.catalog_id,
                        Record.external_id.in_(params["external_ids"]),
                    )
                    .order_by(Record.id)
                )
            )
            prepared = prepare_enrichment(
                session,
                catalog_id=run.catalog_id,
                config=enrich_config(config, settings),
                output_schema=[f.model_dump(mode="json", exclude_none=True) for f in output],
                models_dir=settings.resolved_home / "models",
            )
        tally = {"conflicts": 0, "changes": 0}

        def handle(chunk: list[int]) -> None:
            with ctx.session() as session:
                if config.monthly_credit_limit is not None:
                    used = credits_this_month(session, organization_id=ctx.organization_id)
                    if used + len(chunk) > config.monthly_credit_limit:
                        raise CreditLimitReached(config.monthly_credit_limit)
                counts = enrich_stored_records(
                    session, prepared=prepared, options=options, record_ids=chunk, run_id=ctx.run_id
                ).counts
                tally["conflicts"] += counts["conflicts"]
                tally["changes"] += sum(n for k, n in counts.items() if k in _STATUSES)
            ctx.charge([str(r) for r in chunk], operation=OPERATION)

        with prepared.options() as options:
            failures = ctx.for_each_chunk(ids, handle, size=CHUNK)
        limit = [f for f in failures if f.error.startswith("CreditLimitReached")]
        result = {
            **tally,
            "notes": list(prepared.notes),
            "failures": [{"record": str(f.item), "error": f.error} for f in failures[:100]],
        }
        if limit:
            raise CreditLimitReached(config.monthly_credit_limit, result=result)
        return result

    return work


class CreditLimitReached(Exception):
    def __init__(self, limit: int | None, result: dict[str, Any] | None = None) -> None:
        super().__init__(f"monthly credit limit of {limit} reached; raise it and retry the job")
        self.result = result


# -- stats -------------------------------------------------------------------------------------


def stats(session: Session, *, org: Organization) -> dict[str, Any]:
    row = settings_row(session, org=org)
    runs = select(Run).where(Run.organization_id == org.id, Run.operation == OPERATION).subquery()
    by_status = dict(
        session.execute(select(runs.c.status, func.count()).group_by(runs.c.status)).tuples().all()
    )
    processed = failed = 0
    for counts in session.scalars(select(runs.c.counts)):
        processed += int((counts or {}).get("completed", 0))
        failed += int((counts or {}).get("failed", 0))
    changes = dict(
        session.execute(
            select(Change.status, func.count())
            .join(Run, Run.id == Change.run_id)
            .where(Run.organization_id == org.id, Run.operation == OPERATION)
            .group_by(Change.status)
        )
        .tuples()
        .all()
    )
    conflicts = dict(
        session.execute(
            select(Conflict.status, func.count())
            .join(Run, Run.id == Conflict.run_id)
            .where(Conflict.organization_id == org.id, Run.operation == OPERATION)
            .group_by(Conflict.status)
        )
        .tuples()
        .all()
    )
    credits = session.scalar(
        select(func.coalesce(func.sum(UsageEntry.credits), 0.0)).where(
            UsageEntry.organization_id == org.id, UsageEntry.operation == OPERATION
        )
    )
    last = session.scalar(select(func.max(runs.c.created_at)))
    return {
        "paused": row.paused,
        "enabled": read_config(row).enabled,
        "jobs": {"total": sum(by_status.values()), **by_status},
        "records_processed": processed,
        "records_failed": failed,
        "changes": changes,
        "conflicts": {"open": conflicts.get("open", 0), "resolved": conflicts.get("resolved", 0)},
        "credits_used": float(credits or 0),
        "last_job_at": last,
    }


def conflicts_of(
    session: Session, *, org: Organization, status: str | None, limit: int, offset: int
) -> tuple[list[Conflict], int]:
    where = [Conflict.organization_id == org.id]
    if status:
        where.append(Conflict.status == status)
    total = session.scalar(select(func.count()).select_from(Conflict).where(*where)) or 0
    rows = session.scalars(
        select(Conflict).where(*where).order_by(Conflict.id).limit(limit).offset(offset)
    ).all()
    return list(rows), total


def get_conflict(session: Session, *, org: Organization, conflict_id: str) -> Conflict:
    key = as_key(conflict_id)
    conflict = session.get(Conflict, key) if key is not None else None
    if conflict is None or conflict.organization_id != org.id:
        raise not_found("conflict", conflict_id, code="CONFLICT_NOT_FOUND")
    return conflict


def is_active(run: Run) -> bool:
    return run.status not in FINISHED


def queue_auto_enrichment(
    ctx: JobContext, catalog_id: int, created: list[str], updated: list[str]
) -> list[int]:
    """What an ingest job does once its records are stored: queue the auto-enrichment jobs the
    organization's config asks for and, unless the pipeline is paused (they wait queued),
    announce each (``skuflow.job.queued``: the ``auto-enrich-on-ingest`` deployment's trigger
    runs it on a worker) and hand them to this process's runner when embedded."""
    from flows.support.run_events import emit_job_queued

    with ctx.session() as session:
        org = session.get(Organization, ctx.organization_id)
        runs = start_jobs(session, org=org, catalog_id=catalog_id, created=created, updated=updated)
        paused = settings_row(session, org=org).paused
        ids = [run.id for run in runs]
        catalog = session.get(Catalog, catalog_id).name
    if not paused and ids:
        for run_id in ids:
            emit_job_queued(run_id=run_id, operation=OPERATION, catalog=catalog, after=ctx.run_id)
        if ctx.hand_over is not None:
            ctx.hand_over(ids)
    return ids
