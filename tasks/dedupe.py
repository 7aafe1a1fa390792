"""Dedupe task: match a catalogue's new and edited records into its clusters.

One task per run, not one per batch of records: blocking needs the whole catalogue's index
(titles, codes) in one place, and the stage itself scores only the new records' candidates.
"""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from catalog.db import session_scope
from catalog.filters import RecordFilter
from catalog.progress import add_progress
from catalog.schema import CatalogSchema
from matching.model import load_model
from matching.stage import STAGE, configured_model, dedupe_catalog
from tasks.policy import TASK_OPTIONS, is_transient_failure


@task(
    name="dedupe-catalog",
    cache_policy=NO_CACHE,
    retry_condition_fn=is_transient_failure,
    **TASK_OPTIONS,
)
def dedupe(
    *,
    store_url: str,
    run_id: int,
    catalog_id: int,
    schema: CatalogSchema,
    model_path: str | None = None,
    record_filter: RecordFilter | None = None,
) -> dict[str, int]:
    """Run the dedupe stage (`matching.stage.dedupe_catalog`) and add its counts to the run's
    progress. `model_path` overrides the schema's `matching.model`."""
    model = load_model(model_path) if model_path else configured_model(schema, base=Path.cwd())
    with session_scope(store_url) as session:
        counts = dedupe_catalog(
            session,
            catalog_id=catalog_id,
            schema=schema,
            run_id=run_id,
            model=model,
            record_filter=record_filter,
        )
        add_progress(session, run_id=run_id, stage=STAGE, counts=counts)
    return dict(counts)
