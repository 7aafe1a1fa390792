"""Flow `monitor`: the daily price and attribute check of a supplier feed against the catalogue.

Re-reads the supplier's current file; every value that moved (a price, a stock figure, a
description) is recorded as an `ingest` change, so it is audited and reversible, and the
records that changed are re-enriched. The run publishes the drift — which records and fields
moved, old → new — filtered to `fields` when given. Re-running on the same file finds no drift.
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.artifacts import create_table_artifact
from pydantic.json_schema import SkipJsonSchema

from catalog.db import session_scope
from catalog.filters import RecordFilter
from catalog.models import RunStatus
from connectors.files import FileSource
from flows.support.announce import announce_end, announce_start
from flows.support.artifacts import artifact_key
from flows.support.drift import drift_rows
from flows.support.runs import OpenRun, close_run, open_run
from flows.support.stages import enrich_pending
from flows.support.task_runners import SettingsTaskRunner
from tasks.ingest import ingest

DRIFT_TABLE_LIMIT = 500


@flow(name="monitor", task_runner=SettingsTaskRunner())
def monitor(
    source: str,
    catalog: str,
    fields: list[str] | None = None,
    companies: str | None = None,
    encoding: str = "utf-8",
    record_filter: RecordFilter | None = None,
    organization: str | None = None,
    database_url: SkipJsonSchema[str | None] = None,
) -> dict[str, Any]:
    """Compare the supplier's current feed with the catalogue.

    Args:
        source: the supplier's current file (path or glob).
        catalog: the catalogue schema YAML.
        fields: the attributes to watch (e.g. price); all when empty.
        companies: reference companies CSV, for re-enriching supplier records.
        record_filter: re-enrich and report drift only for the records it selects (the whole
            feed is still imported, so every edit is recorded).
    """
    opened = open_run(
        catalog=catalog,
        operation="monitor",
        params={"source": source, "fields": fields},
        organization=organization,
        database_url=database_url,
        record_filter=record_filter,
    )
    progress = announce_start(store_url=opened.store_url, run_id=opened.run_id)
    try:
        ingest(
            store_url=opened.store_url,
            run_id=opened.run_id,
            catalog_id=opened.catalog_id,
            schema=opened.schema,
            source=FileSource(path=source, encoding=encoding),
            batch_size=opened.batch_size,
            # a filtered run judges only its selection: bad rows outside it are held, not fatal
            halt_on_held=record_filter is None,
        )
        enrich_pending(opened, companies, progress)
        drift = _publish_drift(opened, fields)
    except Exception as exc:
        close_run(opened, RunStatus.FAILED, error=str(exc))
        announce_end("failed", store_url=opened.store_url, run_id=opened.run_id)
        raise
    close_run(opened, RunStatus.COMPLETED, extra={"drift": drift})
    return announce_end(
        "completed", store_url=opened.store_url, run_id=opened.run_id, progress=progress
    )


def _publish_drift(opened: OpenRun, fields: list[str] | None) -> dict[str, int]:
    """Changed values per field, and a table of them (first 500) in the UI."""
    with session_scope(opened.store_url) as session:
        rows = drift_rows(
            session, run_id=opened.run_id, fields=fields, record_filter=opened.record_filter
        )
    per_field: dict[str, int] = {}
    for _, field, _, _ in rows:
        per_field[field] = per_field.get(field, 0) + 1
    if rows:
        create_table_artifact(
            [
                {"record": rid, "field": field, "old": old, "new": new}
                for rid, field, old, new in rows[:DRIFT_TABLE_LIMIT]
            ],
            key=artifact_key(opened.schema.name, "drift"),
            description=f"{len(rows)} value(s) moved since the last import",
        )
    return per_field
