"""Flow `export`: publish a catalogue's current values to files, a table, or a saved
destination block (S3, BigQuery, … registered by the connectors).

Reads the store only; writes every destination all-or-nothing. Re-running is safe: files are
replaced whole and tables upserted by external id. Runs on a schedule (recurring export) and
as the next link of the chain after a completed onboard.
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from pydantic.json_schema import SkipJsonSchema

from catalog.filters import RecordFilter
from catalog.models import RunStatus
from catalog.rows import Destination, WriteMode
from connectors.by_name import load_destination
from flows.support.announce import announce_end, announce_start
from flows.support.runs import close_run, open_run
from flows.support.targets import build_targets
from tasks.distribute import distribute


@flow(name="export")
def export(
    catalog: str,
    out: str | None = None,
    formats: list[str] | None = None,
    table: str | None = None,
    table_password_block: str | None = None,
    destination: str | None = None,
    record_filter: RecordFilter | None = None,
    organization: str | None = None,
    database_url: SkipJsonSchema[str | None] = None,
) -> dict[str, Any]:
    """Export the catalogue.

    Args:
        catalog: name of a stored catalogue (or its schema YAML).
        out: directory for file exports, one file per format in `formats` (default csv).
        table: `SQLALCHEMY_URL#table` to upsert into (without its password).
        table_password_block: a Secret block holding that database's password.
        destination: a saved destination block, `block-type-slug/name[:mode]`: whole-file
            blocks (file exports, dumps, feeds) are replaced, the others upserted by default.
        record_filter: only the records it selects (external ids, values, category, …).
    """
    opened = open_run(
        catalog=catalog,
        operation="export",
        params={"out": out, "formats": formats, "table": table, "destination": destination},
        organization=organization,
        database_url=database_url,
        record_filter=record_filter,
    )
    announce_start(store_url=opened.store_url, run_id=opened.run_id)
    try:
        targets: list[tuple[Destination, WriteMode]] = build_targets(
            catalog_name=opened.schema.name,
            out=out,
            formats=formats or ["csv"],
            table=table,
            table_password_block=table_password_block,
        )
        if destination:
            targets.append(load_destination(destination))
        if not targets:
            raise ValueError("export needs out, table or destination")
        written = distribute(
            store_url=opened.store_url,
            catalog_id=opened.catalog_id,
            schema=opened.schema,
            targets=targets,
            batch_size=opened.batch_size,
            record_filter=opened.record_filter,
        )
    except Exception as exc:
        close_run(opened, RunStatus.FAILED, error=str(exc))
        announce_end("failed", store_url=opened.store_url, run_id=opened.run_id)
        raise
    close_run(opened, RunStatus.COMPLETED, extra={"outputs": written})
    return announce_end("completed", store_url=opened.store_url, run_id=opened.run_id)
