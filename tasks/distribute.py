"""Distribute task: write the validated catalogue to its destinations, all or nothing."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from catalog.db import session_scope
from catalog.distribute import distribute as distribute_catalog
from catalog.filters import RecordFilter
from catalog.rows import Destination, WriteMode
from catalog.schema import CatalogSchema
from tasks.policy import TASK_OPTIONS, is_transient_failure


@task(
    name="distribute",
    cache_policy=NO_CACHE,
    retry_condition_fn=is_transient_failure,
    **TASK_OPTIONS,
)
def distribute(
    *,
    store_url: str,
    catalog_id: int,
    schema: CatalogSchema,
    targets: list[tuple[Destination, WriteMode]],
    batch_size: int,
    record_filter: RecordFilter | None = None,
) -> list[dict[str, object]]:
    with session_scope(store_url) as session:
        results = distribute_catalog(
            session,
            catalog_id=catalog_id,
            schema=schema,
            targets=targets,
            batch_size=batch_size,
            record_filter=record_filter,
        )
    return [{"destination": r.destination, "rows": r.rows, "location": r.location} for r in results]
