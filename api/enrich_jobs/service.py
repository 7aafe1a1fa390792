"""Enrichment jobs: submit (with the concurrency limit, max_rows and resume), the batched work,
paginated results, the job list and cancel.

A job is a `catalog.models.Run` (operation ``enrich_job``) run by the app's `api.jobs` runner;
its items and their results are `EnrichItem` rows. Results are written per batch, so polling
shows them while the job runs and a cancel keeps them; credits are charged per successful item
in the usage ledger, so a cancelled job costs only what it finished.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from api.datasets.ids import as_key, has_nul
from api.datasets.service import lock_organization
from api.enrich_jobs.engine import JobOptions, Plan, plan, plan_for_catalog, run_engine
from api.enrich_jobs.models import JOB_OPERATION, EnrichItem, ItemState
from api.enrich_jobs.results import result_of
from api.errors import ApiError, not_found
from api.jobs import ACTIVE, JobCancelled, JobContext, cancel_job, create_job
from api.usage import charge
from catalog.models import Catalog, Organization, Run, RunStatus, utcnow
from enrichment.output_schema import OutputSchema
from llm.client import TOKENS_PER_CREDIT

MAX_RUNNING_JOBS = 10
ITEMS_PER_BATCH = 500
_INSERT_CHUNK = 5_000


def too_many_jobs_detail(running: int) -> str:
    """The contract's 429 detail, word for word."""
    return (
        f"Too many concurrent enrichment jobs ({running}/{MAX_RUNNING_JOBS}). List running "
        "jobs: GET /api/public/enrich/jobs?status=running — Cancel a job: "
        "POST /api/public/enrich/{job_id}/cancel"
    )


def running_jobs(session: Session, *, organization_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Run)
            .where(
                Run.organization_id == organization_id,
                Run.operation == JOB_OPERATION,
                Run.status.in_(ACTIVE),
            )
        )
        or 0
    )


def get_job(session: Session, *, organization_id: int, job_id: str) -> Run:
    """The organization's job, or a 404 (also for another organization's job)."""
    key = as_key(job_id)
    run = session.get(Run, key) if key is not None else None
    if run is None or run.organization_id != organization_id or run.operation != JOB_OPERATION:
        raise not_found("enrichment job", job_id)
    return run


def find_catalog(session: Session, *, organization_id: int, catalog_id: str) -> Catalog:
    catalog = None
    key = as_key(catalog_id)
    if key is not None:
        catalog = session.get(Catalog, key)
    if catalog is None and not has_nul(catalog_id):
        catalog = session.scalar(
            select(Catalog).where(
                Catalog.organization_id == organization_id, Catalog.name == str(catalog_id)
            )
        )
    if catalog is None or catalog.organization_id != organization_id:
        raise not_found("catalog", catalog_id)
    return catalog


def submit_job(
    session: Session,
    *,
    organization: Organization,
    items: Sequence[dict[str, Any]],
    params: dict[str, Any],
    max_rows: int | None,
    source_activity_id: str | None,
    catalog: Catalog | None,
) -> Run:
    """Create the job and its items (refusing an 11th concurrent job with 429).

    With ``source_activity_id`` the earlier job's unfinished items (not done, or past its
    ``max_rows``) come first, then any items sent now; ``max_rows`` caps what this job
    processes, the rest stay stored for the next resume.
    """
    lock_organization(session, organization_id=organization.id, purpose="enrich_jobs")
    running = running_jobs(session, organization_id=organization.id)
    if running >= MAX_RUNNING_JOBS:
        raise ApiError(429, too_many_jobs_detail(running), code="TOO_MANY_JOBS")
    originals: list[dict[str, Any]] = []
    if source_activity_id is not None:
        previous = get_job(session, organization_id=organization.id, job_id=source_activity_id)
        originals += list(
            session.scalars(
                select(EnrichItem.original)
                .where(EnrichItem.run_id == previous.id, EnrichItem.state != ItemState.DONE.value)
                .order_by(EnrichItem.position)
            )
        )
    originals += list(items)
    in_scope = len(originals) if max_rows is None else min(max_rows, len(originals))
    run = create_job(
        session,
        organization=organization,
        operation=JOB_OPERATION,
        params=params,
        total=in_scope,
        catalog_id=catalog.id if catalog is not None else None,
    )
    run.counts = {**run.counts, "total_rows": len(originals), "successful": 0}
    for start in range(0, len(originals), _INSERT_CHUNK):
        session.execute(
            insert(EnrichItem),
            [
                {
                    "run_id": run.id,
                    "position": start + i,
                    "in_scope": start + i < in_scope,
                    "original": original,
                    "state": ItemState.PENDING.value,
                }
                for i, original in enumerate(originals[start : start + _INSERT_CHUNK])
            ],
        )
    session.flush()
    return run


def run_job(context: JobContext) -> dict[str, Any]:
    """The job's work: pending in-scope items in batches through the engine (plus category
    prediction), each batch's results written — its successful items charged, and with a
    catalogue its values proposed as changes — in one transaction."""
    params = context.params
    schema = OutputSchema.parse(params["output_schema"])
    job = JobOptions(**params["options"])
    with context.session() as session:
        catalog_id = session.get(Run, context.run_id).catalog_id
        if catalog_id is not None:
            planned = plan_for_catalog(
                session, job, catalog_id=catalog_id, output_schema=params["output_schema"]
            )
        else:
            planned = plan(job)
    job_taxonomy = None
    if params.get("predict_taxonomy") and params.get("taxonomy"):
        from api.enrich_jobs.taxonomy import read_taxonomy

        job_taxonomy = read_taxonomy(params["taxonomy"])
    include_explanations = bool(params.get("include_source_explanations"))
    try:
        while _run_batch(context, schema, planned, job_taxonomy, include_explanations):
            pass
    finally:
        planned.close()
    with context.session() as session:
        run = session.get(Run, context.run_id)
        return {"successful": int((run.counts or {}).get("completed", 0))}


def _run_batch(
    context: JobContext,
    schema: OutputSchema,
    planned: Plan,
    job_taxonomy: Any,
    include_explanations: bool,
) -> bool:
    """Process the next batch of pending items; False when none are left."""
    if context.cancelled():
        raise JobCancelled
    with context.session() as session:
        batch = list(
            session.execute(
                select(EnrichItem.id, EnrichItem.original)
                .where(
                    EnrichItem.run_id == context.run_id,
                    EnrichItem.in_scope.is_(True),
                    EnrichItem.state == ItemState.PENDING.value,
                )
                .order_by(EnrichItem.position)
                .limit(ITEMS_PER_BATCH)
            ).all()
        )
    if not batch:
        return False
    originals = [original for _, original in batch]
    categories = None
    if job_taxonomy is not None:
        from api.enrich_jobs.taxonomy import predict

        categories = predict(job_taxonomy, originals)
    if planned.prepared is None:
        outcomes = run_engine(originals, schema, planned)  # pages and LLM outside a transaction
        with context.session() as session:
            _record_batch(session, context, batch, outcomes, categories, None, include_explanations)
    else:
        from api.enrich_jobs.catalog import enrich_catalog_items

        with context.session() as session:
            outcomes, changes = enrich_catalog_items(
                session, planned=planned, items=originals, run_id=context.run_id
            )
            _record_batch(
                session, context, batch, outcomes, categories, changes, include_explanations
            )
    done = sum(1 for o in outcomes if not o.error)
    context.progress(completed=done, failed=len(outcomes) - done)
    return True


def _record_batch(
    session: Session,
    context: JobContext,
    batch: list[Any],
    outcomes: list[Any],
    categories: list[dict[str, Any]] | None,
    changes: dict[str, int] | None,
    include_explanations: bool,
) -> None:
    """The batch's results, credits (one per item, plus its LLM tokens) and catalogue change
    counts, written with the run locked; a job cancelled meanwhile keeps none of it."""
    rows = [
        {
            "b_id": item_id,
            "b_state": (ItemState.FAILED if outcome.error else ItemState.DONE).value,
            "b_result": result_of(
                outcome,
                include_explanations=include_explanations,
                category=categories[i] if categories else None,
            ),
        }
        for i, ((item_id, _), outcome) in enumerate(zip(batch, outcomes, strict=True))
    ]
    done_ids = [r["b_id"] for r in rows if r["b_state"] == ItemState.DONE.value]
    run = session.get(Run, context.run_id, with_for_update=True)
    if run is None or run.status not in ACTIVE:
        raise JobCancelled
    _write_results(session, rows)
    charge(
        session,
        organization_id=run.organization_id,
        run_id=run.id,
        operation=JOB_OPERATION,
        items=[str(i) for i in done_ids],
    )
    tokens = {
        f"{item_id}:llm-tokens": outcome.tokens / TOKENS_PER_CREDIT
        for (item_id, _), outcome in zip(batch, outcomes, strict=True)
        if outcome.tokens
    }
    if tokens:
        charge(
            session,
            organization_id=run.organization_id,
            run_id=run.id,
            operation=JOB_OPERATION,
            items=tokens,
        )
    counts = dict(run.counts or {})
    if tokens:
        counts["llm_tokens"] = counts.get("llm_tokens", 0) + sum(o.tokens for o in outcomes)
    if changes is not None:
        recorded = dict(counts.get("changes", {}))
        for key, value in changes.items():
            recorded[key] = recorded.get(key, 0) + value
        counts["changes"] = recorded
    run.counts = counts


def _write_results(session: Session, rows: list[dict[str, Any]]) -> None:
    table = EnrichItem.__table__
    session.connection().execute(
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(state=bindparam("b_state"), result=bindparam("b_result"), done_at=utcnow()),
        rows,
    )


def job_counts(run: Run) -> dict[str, int]:
    counts = run.counts or {}
    completed = int(counts.get("completed", 0))
    failed = int(counts.get("failed", 0))
    return {
        "total_items": int(counts.get("total", 0)),
        "total_rows": int(counts.get("total_rows", counts.get("total", 0))),
        "completed_items": completed + failed,
        "successful_so_far": completed,
        "failed_items": failed,
    }


def public_status(run: Run) -> str:
    """Poll responses say ``running`` until the job ends; a cancelled job reads ``failed``
    (the contract's words); the job list keeps ``cancelled`` apart."""
    if run.status in ACTIVE:
        return "running"
    if run.status == RunStatus.CANCELLED.value:
        return "failed"
    return run.status


def finished(run: Run) -> bool:
    return run.status not in ACTIVE


def results_page(session: Session, *, run: Run, page: int, page_size: int) -> list[dict[str, Any]]:
    """One page of the results available so far, in submission order."""
    return list(
        session.scalars(
            select(EnrichItem.result)
            .where(EnrichItem.run_id == run.id, EnrichItem.state != ItemState.PENDING.value)
            .order_by(EnrichItem.position)
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
    )


def list_jobs(
    session: Session, *, organization_id: int, status: str | None, limit: int, offset: int
) -> tuple[list[Run], int]:
    where = [Run.organization_id == organization_id, Run.operation == JOB_OPERATION]
    if status == "running":
        where.append(Run.status.in_(ACTIVE))
    elif status is not None:
        where.append(Run.status == status)
    total = int(session.scalar(select(func.count()).select_from(Run).where(and_(*where))) or 0)
    runs = session.scalars(
        select(Run).where(*where).order_by(Run.id.desc()).offset(offset).limit(limit)
    )
    return list(runs), total


def cancel(session: Session, *, run: Run) -> Run:
    """Cancel a running job; finished items stay (and stay charged), the rest are not done."""
    if not cancel_job(session, run=run):
        shown = "cancelled" if run.status == RunStatus.CANCELLED.value else run.status
        raise ApiError(
            409,
            f"job {run.id} is {shown}; only running jobs can be cancelled",
            code="JOB_NOT_CANCELLABLE",
        )
    return run


def item_count(session: Session, *, run: Run) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(EnrichItem)
            .where(EnrichItem.run_id == run.id, EnrichItem.state != ItemState.PENDING.value)
        )
        or 0
    )
