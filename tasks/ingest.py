"""Ingest task: one task streams the whole source in batches inside one transaction."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from catalog.db import session_scope
from catalog.ingest import ingest_source
from catalog.progress import add_progress
from catalog.schema import CatalogSchema
from connectors.base import Source
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
        result = ingest_source(
            session,
            catalog_id=catalog_id,
            schema=schema,
            source=source,
            batch_size=batch_size,
            column_overrides=column_overrides,
            run_id=run_id,
        )
    counts = result.as_dict()
    with session_scope(store_url) as session:
        add_progress(session, run_id=run_id, stage="ingest", counts=counts)
    return counts
