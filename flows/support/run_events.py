"""skuflow's run events, read from the stored run: started/completed/failed and the changes a
run made, for triggers, automations and webhooks.

What an event looks like and how it is sent live in ``catalog.events`` (the CLI and API emit
review decisions there too); this module adds the flow side, which reads a run's counts and
changes from the store. These are plain functions, not tasks, so emitting adds no task runs.
"""

from __future__ import annotations

from typing import Any, Literal

from prefect.events.schemas.events import Event
from sqlalchemy import func, select

from catalog.db import session_scope
from catalog.events import (
    CHANGE_STATUSES,
    MAX_IDS_PER_EVENT,
    emit,
    emit_change_event,
    run_resource,
)
from catalog.models import Catalog, Change, Run

RunOutcome = Literal["started", "completed", "failed"]


def describe_run(store_url: str, run_id: int) -> dict[str, Any]:
    """Operation, catalogue name, status, counts and error of a stored run."""
    with session_scope(store_url) as session:
        run = session.get(Run, run_id)
        catalog = session.get(Catalog, run.catalog_id) if run.catalog_id else None
        return {
            "run_id": run_id,
            "operation": run.operation,
            "catalog": catalog.name if catalog else None,
            "status": run.status,
            "counts": dict(run.counts or {}),
            "error": run.error,
            "report_path": run.report_path,
        }


def emit_run_event(outcome: RunOutcome, *, store_url: str, run_id: int) -> Event | None:
    """``skuflow.run.<outcome>`` for a stored run, its counts and error in the payload."""
    run = describe_run(store_url, run_id)
    return emit(
        f"skuflow.run.{outcome}",
        resource=run_resource(run_id=run_id, operation=run["operation"], catalog=run["catalog"]),
        payload={k: run[k] for k in ("run_id", "status", "counts", "error", "report_path")},
    )


def emit_change_events(*, store_url: str, run_id: int) -> list[Event]:
    """One ``skuflow.change.<status>`` event per stage and status of the changes a run made."""
    run = describe_run(store_url, run_id)
    with session_scope(store_url) as session:
        rows = session.execute(
            select(
                Change.operation,
                Change.status,
                func.count(),
                func.min(Change.confidence),
                func.max(Change.confidence),
            )
            .where(Change.run_id == run_id, Change.status.in_(CHANGE_STATUSES))
            .group_by(Change.operation, Change.status)
        ).all()
        groups = []
        for stage, status, count, low, high in rows:
            ids = session.scalars(
                select(Change.id)
                .where(
                    Change.run_id == run_id,
                    Change.operation == stage,
                    Change.status == status,
                )
                .order_by(Change.id)
                .limit(MAX_IDS_PER_EVENT)
            ).all()
            groups.append((stage, status, count, low, high, list(ids)))
    events = []
    for stage, status, count, low, high, ids in groups:
        events.append(
            emit_change_event(
                status,
                run=run,
                stage=stage,
                count=count,
                change_ids=ids,
                confidence=(low, high),
            )
        )
    return [e for e in events if e is not None]


def emit_job_queued(
    *, run_id: int, operation: str, catalog: str | None, after: int | None = None
) -> Event | None:
    """``skuflow.job.queued``: a background job was queued by another (an ingest queues its
    auto-enrichment); the job's deployment trigger in prefect.yaml runs it."""
    resource = run_resource(run_id=run_id, operation=operation, catalog=catalog)
    resource["prefect.resource.id"] = f"skuflow.job.{run_id}"
    return emit(
        "skuflow.job.queued",
        resource=resource,
        payload={"job_id": run_id, "operation": operation, "after": after},
    )
