"""Ingest task: one task streams the whole source in batches inside one transaction.

An incremental source (S3 prefix, table with a cursor column) reads only what changed since the
cursor stored for this catalogue, and the new cursor is stored in the same transaction as the
rows: a failed run re-reads the same changes, a finished one never reads them twice.

Rows that break a blocking rule are held, not applied (`catalog.held`). When the catalogue says
`on_invalid: halt`, the task then applies nothing, saves the run's validation report (the held
rows and the rules they broke) and raises `ValidationFailed`: the run halts with the catalogue's
current values exactly as they were.
"""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy.orm import Session

from catalog.checks import save_report
from catalog.db import session_scope
from catalog.errors import ValidationFailed
from catalog.held import held_of_run
from catalog.ingest import IngestResult, ingest_source
from catalog.progress import add_progress
from catalog.rows import Source
from catalog.schema import CatalogSchema
from catalog.settings import get_settings
from catalog.source_cursors import load_cursor, save_cursor
from catalog.validation import report_of_breaks
from connectors.base import IncrementalRead
from tasks.policy import TASK_OPTIONS, is_transient_failure


@task(
    name="ingest",
    cache_policy=NO_CACHE,
    retry_condition_fn=is_transient_failure,
    **TASK_OPTIONS,
)
def ingest(
    *,
    store_url: str,
    run_id: int,
    catalog_id: int,
    schema: CatalogSchema,
    source: Source,
    batch_size: int,
    column_overrides: dict[str, str] | None = None,
    reports_dir: str | None = None,
    halt_on_held: bool = True,
) -> dict[str, int]:
    halted: IngestResult | None = None
    with session_scope(store_url) as session:
        cursor_key = source.cursor_key() if hasattr(source, "since") else None
        reader: Source | IncrementalRead = source
        if cursor_key is not None:
            cursor = load_cursor(session, catalog_id=catalog_id, source_key=cursor_key)
            reader = source.since(cursor)  # type: ignore[attr-defined]
        counts = {"read": 0, "inserted": 0, "updated": 0, "unchanged": 0}
        if cursor_key is None or reader.columns():  # an incremental read may find nothing new
            result = ingest_source(
                session,
                catalog_id=catalog_id,
                schema=schema,
                source=reader,
                batch_size=batch_size,
                column_overrides=column_overrides,
                run_id=run_id,
                hold_invalid=True,
                halt_on_held=halt_on_held,
            )
            counts = result.as_dict()
            halted = result if result.halted else None
        new_cursor = getattr(reader, "cursor", None)
        if halted is None and cursor_key is not None and new_cursor is not None:
            save_cursor(session, catalog_id=catalog_id, source_key=cursor_key, cursor=new_cursor)
    with session_scope(store_url) as session:
        add_progress(session, run_id=run_id, stage="ingest", counts=counts)
        failure = None if halted is None else _halt(session, schema, halted, run_id, reports_dir)
    if failure is not None:
        raise failure
    return counts


def _halt(
    session: Session,
    schema: CatalogSchema,
    result: IngestResult,
    run_id: int,
    reports_dir: str | None,
) -> ValidationFailed:
    """Save the report of a run halted on held rows; the error that halts it names it."""
    report = report_of_breaks(
        schema, [(h.external_id, h.reasons) for h in result.held], records=result.rows_read
    )
    report.held_count, report.held = held_of_run(session, run_id=run_id)
    saved = save_report(
        report, reports_dir=Path(reports_dir or get_settings().reports_dir), run_id=run_id
    )
    return ValidationFailed(str(saved.json_path), saved.markdown_path.read_text(encoding="utf-8"))
