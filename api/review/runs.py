"""A catalogue's runs: what each did (stage counts), what halted it, its validation report."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.review.schemas import RunDetail, RunPublic
from catalog.changes import ChangeFilter, status_counts
from catalog.errors import NotFound
from catalog.held import held_of_run
from catalog.models import Catalog, Run
from reports.quality import read_validation_report


def list_catalog_runs(
    session: Session,
    *,
    catalog: Catalog,
    operation: str | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[RunPublic], int]:
    """A page of the catalogue's runs, newest first."""
    conditions = [Run.catalog_id == catalog.id, Run.organization_id == catalog.organization_id]
    if operation is not None:
        conditions.append(Run.operation == operation)
    if status is not None:
        conditions.append(Run.status == status)
    runs = session.scalars(
        select(Run).where(*conditions).order_by(Run.id.desc()).limit(limit).offset(offset)
    )
    count = session.scalar(select(func.count()).select_from(Run).where(*conditions)) or 0
    return [RunPublic.model_validate(run) for run in runs], count


def run_detail(session: Session, *, catalog: Catalog, run_id: int) -> RunDetail:
    run = session.get(Run, run_id)
    if run is None or run.catalog_id != catalog.id:
        raise NotFound(f"run {run_id} not found in catalogue '{catalog.name}'")
    return RunDetail(
        **RunPublic.model_validate(run).model_dump(),
        changes=dict(status_counts(session, where=ChangeFilter(run_id=run.id))),
        validation=read_validation_report(run.report_path),
        held=held_of_run(session, run_id=run.id, limit=0)[0],
    )
