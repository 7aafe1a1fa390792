"""Auto-enrichment: settings per organization, jobs started when records arrive, conflicts.

A job enriches a batch of stored records with `enrichment.engine.enrich_items` (record text,
reference companies, web pages when enabled). Found values become scored changes (applied,
queued for review or dropped by the thresholds); a value that disagrees with a non-empty
existing one becomes a `Conflict` (policy ``review``), is skipped (``keep_existing``) or is
proposed as a change like any other (``overwrite``). One credit per record enriched, at most
once per job, and never past the monthly limit.

While paused, triggered jobs wait as ``queued``; resuming starts them. With a Prefect API
configured, pause/resume also switch the skuflow deployments' schedules.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from api.auto_enrichment.schemas import ConfigFields, ConfigUpdate
from api.errors import ApiError, not_found
from api.jobs import FINISHED, JobContext, JobRunner, create_job
from api.models import AutoEnrichmentSettings, UsageEntry
from api.settings import ApiSettings
from catalog.changes import Proposal, record_changes, stage_basis
from catalog.models import Catalog, Change, Organization, Record, Run, RunStatus, utcnow
from catalog.records import load_records
from catalog.repository import catalog_schema
from catalog.schema import Thresholds
from enrichment.conflicts import open_conflicts
from enrichment.engine import EnrichOptions, enrich_items
from enrichment.models import Conflict

OPERATION = "auto_enrich"
CHUNK = 500
WRITTEN = ("applied", "review", "merged")


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
    try:
        run = session.get(Run, int(job_id))
    except ValueError:
        run = None
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
    run.status = RunStatus.QUEUED.value
    run.error = None
    run.started_at = None
    run.finished_at = None
    run.counts = {
        "total": (run.counts or {}).get("total", 0),
        "completed": 0,
        "failed": 0,
        "retries": (run.counts or {}).get("retries", 0) + 1,
    }
    session.flush()
    return run


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
        runner.submit(run, auto_enrich_work(settings), on_finish=on_finish)
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


def _version(config: ConfigFields, entity: str) -> str:
    key = json.dumps(
        [
            config.model_dump(mode="json")["fields"].get(entity),
            config.conflict_policy,
            config.web_search,
        ],
        sort_keys=True,
    )
    return "auto:" + hashlib.sha256(key.encode()).hexdigest()[:12]


def auto_enrich_work(settings: ApiSettings):  # noqa: ANN201
    """The job: enrich the records in chunks; a chunk that fails is retried record by record,
    so one bad record fails alone."""
    from api.pipeline.service import company_table

    def work(ctx: JobContext) -> dict[str, Any]:
        params = ctx.params
        entity = params["entity_type"]
        with ctx.session() as session:
            run = session.get(Run, ctx.run_id)
            org = session.get(Organization, run.organization_id)
            config = read_config(settings_row(session, org=org))
            catalog = session.get(Catalog, run.catalog_id)
            thresholds = Thresholds(auto_apply=config.auto_apply, reject=config.reject)
            schema = catalog_schema(catalog).model_copy(update={"thresholds": thresholds})
            ids = list(
                session.scalars(
                    select(Record.id)
                    .where(
                        Record.catalog_id == catalog.id,
                        Record.external_id.in_(params["external_ids"]),
                    )
                    .order_by(Record.id)
                )
            )
            catalog_id = catalog.id
        output = config.output_schema(entity)
        if output is None:
            raise ValueError(f"the config has no fields for entity type '{entity}'")
        options = EnrichOptions(
            thresholds=thresholds,
            companies=company_table(settings),
            web_search=config.web_search,
            providers=("record", "reference", "web")
            if config.web_search
            else ("record", "reference"),
        )
        version = _version(config, entity)
        tally = {"conflicts": 0, "changes": 0}

        def handle(chunk: list[int]) -> None:
            with ctx.session() as session:
                if config.monthly_credit_limit is not None:
                    used = credits_this_month(session, organization_id=ctx.organization_id)
                    if used + len(chunk) > config.monthly_credit_limit:
                        raise CreditLimitReached(config.monthly_credit_limit)
                batch = load_records(session, record_ids=chunk)
                record_ids = list(batch.values)
                results = enrich_items([batch.values[r] for r in record_ids], output, options)
                proposals: list[Proposal] = []
                found: list[tuple[int, str, Any]] = []
                for rid, result in zip(record_ids, results, strict=True):
                    for field, value in result.values.items():
                        if result.decisions.get(field) in WRITTEN:
                            proposals.append(_proposal(rid, field, value, result))
                    for conflict in result.conflicts:
                        if config.conflict_policy == "review":
                            found.append((rid, batch.external_ids[rid], conflict))
                        elif config.conflict_policy == "overwrite":
                            proposals.append(
                                Proposal(
                                    record_id=rid,
                                    field=conflict.field,
                                    value=conflict.proposed,
                                    confidence=conflict.confidence,
                                    provider=OPERATION,
                                    method="overwrite",
                                    sources=tuple(conflict.sources),
                                    explanation=conflict.explanation,
                                )
                            )
                counts = record_changes(
                    session,
                    catalog_id=catalog_id,
                    schema=schema,
                    proposals=proposals,
                    current=batch.values,
                    bases={r: stage_basis(batch.hashes[r], version) for r in record_ids},
                    operation=OPERATION,
                    run_id=ctx.run_id,
                )
                opened = open_conflicts(
                    session,
                    organization_id=ctx.organization_id,
                    found=found,
                    catalog_id=catalog_id,
                    run_id=ctx.run_id,
                )
                tally["conflicts"] += len(opened)
                tally["changes"] += sum(counts.values())
            ctx.charge([str(r) for r in chunk], operation=OPERATION)

        failures = ctx.for_each_chunk(ids, handle, size=CHUNK)
        limit = [f for f in failures if f.error.startswith("CreditLimitReached")]
        result = {
            **tally,
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


def _proposal(record_id: int, field: str, value: Any, result: Any) -> Proposal:
    return Proposal(
        record_id=record_id,
        field=field,
        value=value,
        confidence=float(result.confidence.get(field, 0.0)),
        provider=OPERATION,
        method=result.decisions.get(field, ""),
        sources=tuple(result.sources.get(field, [])),
        explanation=result.explanations.get(field, ""),
    )


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
            .where(Run.organization_id == org.id, Change.operation == OPERATION)
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
    try:
        conflict = session.get(Conflict, int(conflict_id))
    except ValueError:
        conflict = None
    if conflict is None or conflict.organization_id != org.id:
        raise not_found("conflict", conflict_id, code="CONFLICT_NOT_FOUND")
    return conflict


# -- pause / resume ----------------------------------------------------------------------------


def switch_schedules(paused: bool) -> tuple[list[str], str | None]:
    """Pause or resume the skuflow deployments' schedules when a Prefect API is configured
    (``PREFECT_API_URL``); with the embedded default there are no schedules to switch."""
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        return [], None
    try:
        from deployments.schedules import pause_all, resume_all

        return (pause_all() if paused else resume_all()), None
    except Exception as exc:  # noqa: BLE001 - the store's pause holds; report the Prefect side
        return [], f"{type(exc).__name__}: {exc}"


def is_active(run: Run) -> bool:
    return run.status not in FINISHED


def ingest_trigger(state: Any):  # noqa: ANN201, ANN401 - the app's state
    """What an ingest job calls once its records are stored: start the auto-enrichment jobs
    the organization's config asks for (left queued while paused)."""

    def trigger(
        ctx: JobContext, catalog_id: int, created: list[str], updated: list[str]
    ) -> list[int]:
        with ctx.session() as session:
            org = session.get(Organization, ctx.organization_id)
            runs = start_jobs(
                session, org=org, catalog_id=catalog_id, created=created, updated=updated
            )
            paused = settings_row(session, org=org).paused
        if not paused:
            for run in runs:
                state.jobs.submit(
                    run, auto_enrich_work(state.settings), on_finish=state.on_job_finish
                )
        return [run.id for run in runs]

    return trigger
