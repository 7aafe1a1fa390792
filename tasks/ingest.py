"""Ingest task: one task streams the whole source in batches inside one transaction.

An incremental source (S3 prefix, table with a cursor column) reads only what changed since the
cursor stored for this catalogue, and the new cursor is stored in the same transaction as the
rows: a failed run re-reads the same changes, a finished one never reads them twice.
"""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from catalog.db import session_scope
from catalog.ingest import ingest_source
from catalog.progress import add_progress
from catalog.rows import Source
from catalog.schema import CatalogSchema
from catalog.source_cursors import load_cursor, save_cursor
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
) -> dict[str, int]:
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
            )
            counts = result.as_dict()
        new_cursor = getattr(reader, "cursor", None)
        if cursor_key is not None and new_cursor is not None:
            save_cursor(session, catalog_id=catalog_id, source_key=cursor_key, cursor=new_cursor)
    with session_scope(store_url) as session:
        add_progress(session, run_id=run_id, stage="ingest", counts=counts)
    return counts
