"""skuflow's Prefect events: what a run did, for triggers, automations and webhooks.

Events are batched: one event per run transition and one per (stage, change status) of a run,
carrying counts and the change ids (capped), never one event per change — a 100k-record run
would otherwise push 100k events through the server's event pipeline. These are plain
functions, not tasks, so emitting adds no task runs.

Every event's resource is the run (``skuflow.run.<id>``) labelled with its operation and
catalogue, so a trigger can match ``skuflow.operation: onboard`` and template
``{{ event.resource['skuflow.catalog'] }}`` into the next deployment's parameters. Resource
labels are strings; the payload carries ``run_id`` as a number for integer parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

from prefect.events import emit_event
from prefect.events.schemas.events import Event
from sqlalchemy import func, select

from catalog.db import session_scope
from catalog.models import Catalog, Change, Run

RUN_STARTED = "skuflow.run.started"
RUN_COMPLETED = "skuflow.run.completed"
RUN_FAILED = "skuflow.run.failed"
CHANGE_EVENT_PREFIX = "skuflow.change."
CHANGE_STATUSES = ("applied", "queued_for_review", "approved", "rejected")
MAX_IDS_PER_EVENT = 1000

RunOutcome = Literal["started", "completed", "failed"]


def run_resource(*, run_id: int, operation: str, catalog: str | None) -> dict[str, str]:
    """The Prefect resource a run's events are about."""
    resource = {
        "prefect.resource.id": f"skuflow.run.{run_id}",
        "prefect.resource.name": f"{operation} run {run_id}",
        "skuflow.run": str(run_id),
        "skuflow.operation": operation,
    }
    if catalog:
        resource["skuflow.catalog"] = catalog
    return resource


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
    return emit_event(
        event=f"skuflow.run.{outcome}",
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
            _emit_changes(
                status,
                run=run,
                stage=stage,
                count=count,
                change_ids=ids,
                confidence=(low, high),
            )
        )
    return [e for e in events if e is not None]


def emit_decision_events(
    changes: Sequence[Change] | Iterable[Change], *, status: str, reviewer: str
) -> list[Event]:
    """``skuflow.change.approved|rejected`` for reviewed changes, one event per run and stage."""
    grouped: dict[tuple[int | None, str], list[Change]] = {}
    for change in changes:
        grouped.setdefault((change.run_id, change.operation), []).append(change)
    events = []
    for (run_id, stage), members in grouped.items():
        run = {"run_id": run_id, "operation": "review", "catalog": None}
        event = _emit_changes(
            status,
            run=run,
            stage=stage,
            count=len(members),
            change_ids=[c.id for c in members][:MAX_IDS_PER_EVENT],
            confidence=(
                min(c.confidence for c in members),
                max(c.confidence for c in members),
            ),
            extra={"reviewer": reviewer, "catalog_id": members[0].catalog_id},
        )
        if event is not None:
            events.append(event)
    return events


def _emit_changes(
    status: str,
    *,
    run: dict[str, Any],
    stage: str,
    count: int,
    change_ids: list[int],
    confidence: tuple[float | None, float | None],
    extra: dict[str, Any] | None = None,
) -> Event | None:
    resource = run_resource(
        run_id=run["run_id"], operation=run["operation"], catalog=run["catalog"]
    )
    resource["skuflow.stage"] = stage
    return emit_event(
        event=f"{CHANGE_EVENT_PREFIX}{status}",
        resource=resource,
        payload={
            "run_id": run["run_id"],
            "count": count,
            "change_ids": change_ids,
            "truncated": count > len(change_ids),
            "min_confidence": confidence[0],
            "max_confidence": confidence[1],
            **(extra or {}),
        },
    )
