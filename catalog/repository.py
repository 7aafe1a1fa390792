"""Organizations, catalogues and runs: the keyword-only functions every stage and the CLI use."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.errors import NotFound
from catalog.models import Catalog, Organization, Run, RunStatus, utcnow
from catalog.schema import CatalogSchema

MAX_ERROR_CHARS = 4000
"""A run's stored error is cut to this length: it is shown in run lists, summaries and events,
and an exception carrying a whole batch (every failing row) would otherwise fill all three."""


def get_or_create_organization(session: Session, *, name: str) -> Organization:
    org = session.scalar(select(Organization).where(Organization.name == name))
    if org is None:
        org = Organization(name=name)
        session.add(org)
        session.flush()
    return org


def upsert_catalog(
    session: Session, *, organization: Organization, schema: CatalogSchema
) -> Catalog:
    """Create the catalogue, or bring its stored schema up to date with the YAML."""
    catalog = session.scalar(
        select(Catalog).where(
            Catalog.organization_id == organization.id, Catalog.name == schema.name
        )
    )
    stored = schema.model_dump(mode="json")
    if catalog is None:
        catalog = Catalog(organization_id=organization.id, name=schema.name)
        session.add(catalog)
    if catalog.schema != stored:
        catalog.schema = stored
    catalog.kind = schema.kind
    catalog.auto_apply = schema.thresholds.auto_apply
    catalog.reject = schema.thresholds.reject
    session.flush()
    return catalog


def get_catalog(session: Session, *, organization: str, name: str) -> Catalog:
    catalog = session.scalar(
        select(Catalog)
        .join(Organization, Organization.id == Catalog.organization_id)
        .where(Organization.name == organization, Catalog.name == name)
    )
    if catalog is None:
        raise NotFound(f"no catalogue '{name}' in organization '{organization}'")
    return catalog


def list_catalogs(session: Session, *, organization: str) -> list[Catalog]:
    return list(
        session.scalars(
            select(Catalog)
            .join(Organization, Organization.id == Catalog.organization_id)
            .where(Organization.name == organization)
            .order_by(Catalog.name)
        )
    )


def catalog_schema(catalog: Catalog) -> CatalogSchema:
    return CatalogSchema.model_validate(catalog.schema)


def start_run(
    session: Session,
    *,
    organization: Organization,
    catalog: Catalog | None,
    operation: str,
    params: dict[str, Any] | None = None,
    flow_run_id: str | None = None,
) -> Run:
    run = Run(
        organization_id=organization.id,
        catalog_id=catalog.id if catalog else None,
        operation=operation,
        status=RunStatus.RUNNING.value,
        params=params or {},
        flow_run_id=flow_run_id,
        started_at=utcnow(),
    )
    session.add(run)
    session.flush()
    return run


def finish_run(
    session: Session,
    *,
    run_id: int,
    status: RunStatus,
    counts: dict[str, Any] | None = None,
    error: str | None = None,
    report_path: str | None = None,
) -> Run:
    run = session.get(Run, run_id)
    if run is None:
        raise NotFound(f"no run {run_id}")
    run.status = status.value
    run.finished_at = utcnow()
    if counts is not None:
        run.counts = {**(run.counts or {}), **counts}
    if error is not None:
        run.error = error if len(error) <= MAX_ERROR_CHARS else error[:MAX_ERROR_CHARS] + "…"
    if report_path is not None:
        run.report_path = report_path
    session.flush()
    return run


def list_runs(session: Session, *, organization: str, limit: int = 20) -> list[Run]:
    return list(
        session.scalars(
            select(Run)
            .join(Organization, Organization.id == Run.organization_id)
            .where(Organization.name == organization)
            .order_by(Run.id.desc())
            .limit(limit)
        )
    )
