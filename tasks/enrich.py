"""Enrich task: fill derived attributes for one batch of records."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from catalog.db import session_scope
from catalog.progress import add_progress
from catalog.records import pending_record_ids
from catalog.schema import CatalogSchema
from enrichment.apply import STAGE, companies_from_file, enrich_records
from tasks.policy import TASK_OPTIONS, is_transient_failure


@task(
    name="enrich-batch",
    cache_policy=NO_CACHE,
    retry_condition_fn=is_transient_failure,
    **TASK_OPTIONS,
)
def enrich_batch(
    *,
    store_url: str,
    run_id: int,
    catalog_id: int,
    schema: CatalogSchema,
    companies_path: str | None,
    id_range: tuple[int, int],
    version: str,
) -> dict[str, int]:
    with session_scope(store_url) as session:
        ids = pending_record_ids(
            session, catalog_id=catalog_id, stage=STAGE, version=version, id_range=id_range
        )
        counts = enrich_records(
            session,
            catalog_id=catalog_id,
            schema=schema,
            record_ids=ids,
            companies=companies_from_file(companies_path) if companies_path else None,
            run_id=run_id,
            version=version,
        )
        add_progress(session, run_id=run_id, stage=STAGE, counts=counts)
    return dict(counts)
