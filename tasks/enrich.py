"""Enrich tasks: a catalogue batch's derived attributes, request items, stored records."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from catalog.db import session_scope
from catalog.filters import RecordFilter
from catalog.progress import add_progress
from catalog.records import pending_record_ids
from catalog.schema import CatalogSchema
from enrichment.apply import STAGE, companies_from_file, enrich_records
from enrichment.config import EnrichConfig
from enrichment.engine import enrich_items
from enrichment.output_schema import OutputSchema
from enrichment.store import STAGE as EVIDENCE_STAGE
from enrichment.store import enrich_stored_records
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
    record_filter: RecordFilter | None = None,
) -> dict[str, int]:
    with session_scope(store_url) as session:
        ids = pending_record_ids(
            session,
            catalog_id=catalog_id,
            stage=STAGE,
            version=version,
            id_range=id_range,
            record_filter=record_filter,
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


@task(
    name="enrich-items",
    cache_policy=NO_CACHE,
    retry_condition_fn=is_transient_failure,
    **TASK_OPTIONS,
)
def enrich_item_batch(
    *,
    items: list[dict[str, Any]],
    output_schema: list[dict[str, Any]],
    config: EnrichConfig,
    include_explanations: bool = False,
) -> list[dict[str, Any]]:
    """Enrich one chunk of request items (seed 003); results as plain JSON, in item order."""
    schema = OutputSchema.parse(output_schema)
    options = config.build()
    try:
        results = enrich_items(items, schema, options)
    finally:
        if options.fetcher is not None:
            options.fetcher.close()
    return [r.as_result(include_explanations=include_explanations) for r in results]


@task(
    name="enrich-stored-batch",
    cache_policy=NO_CACHE,
    retry_condition_fn=is_transient_failure,
    **TASK_OPTIONS,
)
def enrich_stored_batch(
    *,
    store_url: str,
    run_id: int,
    organization_id: int,
    catalog_id: int,
    schema: CatalogSchema,
    output_schema: list[dict[str, Any]],
    config: EnrichConfig,
    id_range: tuple[int, int],
    version: str,
) -> dict[str, int]:
    """Enrich the stored records of one id range not yet enriched at this version."""
    options = config.build()
    try:
        with session_scope(store_url) as session:
            ids = pending_record_ids(
                session,
                catalog_id=catalog_id,
                stage=EVIDENCE_STAGE,
                version=version,
                id_range=id_range,
            )
            counts = enrich_stored_records(
                session,
                organization_id=organization_id,
                catalog_id=catalog_id,
                schema=schema,
                output_schema=OutputSchema.parse(output_schema),
                record_ids=ids,
                options=options,
                version=version,
                run_id=run_id,
            )
            add_progress(session, run_id=run_id, stage=EVIDENCE_STAGE, counts=counts)
    finally:
        if options.fetcher is not None:
            options.fetcher.close()
    return dict(counts)
