"""Planning task: which batches of records a stage still has to process."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from catalog.db import session_scope
from catalog.filters import RecordFilter
from catalog.records import id_ranges, pending_record_ids


@task(name="plan-batches", cache_policy=NO_CACHE)
def plan_batches(
    *,
    store_url: str,
    catalog_id: int,
    stage: str,
    version: str,
    batch_size: int,
    record_filter: RecordFilter | None = None,
) -> list[tuple[int, int]]:
    """Id ranges of the records ``stage`` has not processed at their current content; passing
    ranges (not records) keeps task parameters small and lets each task re-read the store."""
    with session_scope(store_url) as session:
        ids = pending_record_ids(
            session,
            catalog_id=catalog_id,
            stage=stage,
            version=version,
            record_filter=record_filter,
        )
    return id_ranges(ids, batch_size)
