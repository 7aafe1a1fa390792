"""The run lifecycle, for flows, the API and the CLI: opening and closing a stored run for the
scheduled operations (export, monitor, quality report, re-run of one stage) and CLI commands
(`recorded_run`), and the lease-held lifecycle of the API's background jobs (dispatch, claim,
heartbeat, finish, cancel, expired). The catalogue is found by name or schema file; the run row
records the Prefect flow-run id so the API and CLI can follow it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from prefect.runtime import flow_run
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from catalog.changes import ChangeFilter, status_counts
from catalog.db import session_scope
from catalog.filters import RecordFilter
from catalog.models import Run, RunStatus, utcnow
from catalog.records import count_records
from catalog.repository import (
    catalog_schema,
    finish_run,
    get_catalog,
    get_or_create_organization,
    start_run,
    upsert_catalog,
)
from catalog.schema import CatalogSchema
from catalog.settings import get_settings, normalize_database_url


@dataclass(frozen=True)
class OpenRun:
    store_url: str
    run_id: int
    catalog_id: int
    schema: CatalogSchema
    batch_size: int
    record_filter: RecordFilter | None = None
    """The records the run acts on (bound to the catalogue's category attribute); all when
    None."""


def open_run(
    *,
    catalog: str,
    operation: str,
    params: dict[str, Any],
    organization: str | None = None,
    database_url: str | None = None,
    record_filter: RecordFilter | None = None,
) -> OpenRun:
    """Start a run on ``catalog``: a schema YAML path (the catalogue is created or updated) or
    the name of a catalogue already in the store. ``record_filter`` is kept in the run's
    params, so a run says which records it covered."""
    settings = get_settings()
    store_url = normalize_database_url(database_url) if database_url else settings.store_url
    with session_scope(store_url) as session:
        org_name = organization or settings.organization
        org = get_or_create_organization(session, name=org_name)
        if catalog.endswith((".yaml", ".yml")) and Path(catalog).exists():
            schema = CatalogSchema.from_yaml(catalog)
            stored = upsert_catalog(session, organization=org, schema=schema)
        else:
            stored = get_catalog(session, organization=org_name, name=catalog)
            schema = catalog_schema(stored)
        run = start_run(
            session,
            organization=org,
            catalog=stored,
            operation=operation,
            params={**params, **filter_params(record_filter)},
            flow_run_id=str(flow_run.id) if flow_run.id else None,
        )
        return OpenRun(
            store_url,
            run.id,
            stored.id,
            schema,
            settings.batch_size,
            bind_filter(record_filter, schema),
        )


def bind_filter(record_filter: RecordFilter | None, schema: CatalogSchema) -> RecordFilter | None:
    """The filter with the catalogue's category attribute resolved (None stays None)."""
    if record_filter is None:
        return None
    category = schema.category_attribute
    return record_filter.bound_to(category.name if category else None)


def filter_params(record_filter: RecordFilter | None) -> dict[str, Any]:
    """The filter as JSON for a run's stored params (nothing when unfiltered)."""
    if record_filter is None:
        return {}
    return {"record_filter": record_filter.model_dump(mode="json", exclude_none=True)}


def close_run(
    opened: OpenRun,
    status: RunStatus,
    *,
    error: str | None = None,
    report_path: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Finish the run with the catalogue's record count and the run's change counts."""
    return close_stored_run(
        opened.store_url,
        opened.run_id,
        status,
        error=error,
        report_path=report_path,
        extra=extra,
    )


def close_stored_run(
    store_url: str,
    run_id: int,
    status: RunStatus,
    *,
    error: str | None = None,
    report_path: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Finish run ``run_id`` with its catalogue's record count and its change counts; returns
    the run's id, status and counts (a flow's summary)."""
    with session_scope(store_url) as session:
        run = session.get(Run, run_id)
        totals = {
            "records": count_records(session, catalog_id=run.catalog_id),
            "changes": dict(status_counts(session, where=ChangeFilter(run_id=run_id))),
            **(extra or {}),
        }
        finish_run(
            session,
            run_id=run_id,
            status=status,
            counts=totals,
            error=error,
            report_path=report_path,
        )
        return {"run_id": run_id, "status": status.value, **run.counts}


@dataclass
class RecordedRun:
    """A run opened by `recorded_run`: ``extra`` is merged into its counts when it closes."""

    opened: OpenRun
    extra: dict[str, Any] = field(default_factory=dict)


@contextmanager
def recorded_run(
    *,
    catalog: str,
    operation: str,
    params: dict[str, Any],
    organization: str | None = None,
    database_url: str | None = None,
) -> Iterator[RecordedRun]:
    """A stored run around a block of work outside a flow (a CLI command): completed when the
    block ends, failed with the error when it raises (the error is re-raised)."""
    opened = open_run(
        catalog=catalog,
        operation=operation,
        params=params,
        organization=organization,
        database_url=database_url,
    )
    recorded = RecordedRun(opened)
    try:
        yield recorded
    except BaseException as exc:
        close_run(opened, RunStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    close_run(opened, RunStatus.COMPLETED, extra=recorded.extra)


# -- background jobs: the same run rows, worked on under a lease --------------------------------
#
# A job (a run created queued by the API) is worked on by one process at a time: the worker
# claims it with a lease it renews (heartbeat); a queued or running job whose lease expired
# (its process died) is claimed again by another, and because every stage is idempotent (changes
# unique per record/field/basis, credits unique per run and item) re-running it redoes nothing.

ACTIVE_STATUSES = (RunStatus.QUEUED.value, RunStatus.RUNNING.value)


def lease_until(seconds: float) -> datetime:
    return utcnow() + timedelta(seconds=seconds)


def dispatch_job(session: Session, *, run_id: int, owner: str, lease_seconds: float) -> bool:
    """Mark a queued job as handed to ``owner`` (it holds the lease until it claims the job or
    the lease runs out); False when the job is no longer queued."""
    return bool(
        session.execute(
            update(Run)
            .where(Run.id == run_id, Run.status == RunStatus.QUEUED.value)
            .values(lease_owner=owner, lease_expires_at=lease_until(lease_seconds))
        ).rowcount
    )


def claim_job(session: Session, *, run_id: int, owner: str, lease_seconds: float) -> int | None:
    """Start (or take over) a job: queued and not leased to another live owner, or running
    with an expired lease. Returns the attempt number (1 the first time), None when the job is
    someone else's, finished or cancelled."""
    now = utcnow()
    free = or_(Run.lease_owner.is_(None), Run.lease_owner == owner, Run.lease_expires_at < now)
    claimable = or_(
        and_(Run.status == RunStatus.QUEUED.value, free),
        and_(Run.status == RunStatus.RUNNING.value, Run.lease_expires_at < now),
    )
    claimed = session.execute(
        update(Run)
        .where(Run.id == run_id, claimable)
        .values(
            status=RunStatus.RUNNING.value,
            started_at=func.coalesce(Run.started_at, now),
            lease_owner=owner,
            lease_expires_at=lease_until(lease_seconds),
            attempts=Run.attempts + 1,
        )
    ).rowcount
    if not claimed:
        return None
    return int(session.scalar(select(Run.attempts).where(Run.id == run_id)) or 1)


def renew_lease(session: Session, *, run_id: int, owner: str, lease_seconds: float) -> bool:
    """The heartbeat: extend ``owner``'s lease; False when the job is no longer its own."""
    return bool(
        session.execute(
            update(Run)
            .where(Run.id == run_id, Run.lease_owner == owner, Run.status.in_(ACTIVE_STATUSES))
            .values(lease_expires_at=lease_until(lease_seconds))
        ).rowcount
    )


def finish_job(
    session: Session,
    *,
    run_id: int,
    status: RunStatus,
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> Run:
    """End a job with its result merged into its counts; a cancelled job stays cancelled."""
    run = session.get(Run, run_id, with_for_update=True)
    if result:
        run.counts = {**(run.counts or {}), **result}
    run.lease_owner = None
    run.lease_expires_at = None
    if run.status != RunStatus.CANCELLED.value:
        finish_run(session, run_id=run_id, status=status, error=error[:2000] if error else None)
    session.flush()
    return run


def requeue_job(session: Session, *, run: Run) -> Run:
    """Queue a finished job again (a retry): its progress starts again, its retries counted."""
    counts = dict(run.counts or {})
    run.status = RunStatus.QUEUED.value
    run.error = None
    run.started_at = None
    run.finished_at = None
    run.lease_owner = None
    run.lease_expires_at = None
    run.counts = {
        "total": counts.get("total", 0),
        "completed": 0,
        "failed": 0,
        "retries": counts.get("retries", 0) + 1,
    }
    session.flush()
    return run


def cancel_run(session: Session, *, run: Run) -> bool:
    """Cancel a queued or running run; False when it had already finished."""
    if run.status not in ACTIVE_STATUSES:
        return False
    finish_run(session, run_id=run.id, status=RunStatus.CANCELLED)
    return True


def expired_jobs(session: Session, *, limit: int = 100) -> list[int]:
    """Queued or running jobs whose lease ran out: their process is gone."""
    return list(
        session.scalars(
            select(Run.id)
            .where(Run.status.in_(ACTIVE_STATUSES), Run.lease_expires_at < utcnow())
            .order_by(Run.id)
            .limit(limit)
        )
    )
