"""Opening and closing a stored run for the scheduled operations (export, monitor, quality
report, re-run of one stage): the catalogue is found by name or schema file, the run row
records the Prefect flow-run id so the API and CLI can follow it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect.runtime import flow_run

from catalog.changes import ChangeFilter, status_counts
from catalog.db import session_scope
from catalog.filters import RecordFilter
from catalog.models import RunStatus
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
) -> None:
    """Finish the run with the catalogue's record count and the run's change counts."""
    with session_scope(opened.store_url) as session:
        totals = {
            "records": count_records(session, catalog_id=opened.catalog_id),
            "changes": dict(status_counts(session, where=ChangeFilter(run_id=opened.run_id))),
            **(extra or {}),
        }
        finish_run(
            session,
            run_id=opened.run_id,
            status=status,
            counts=totals,
            error=error,
            report_path=report_path,
        )
