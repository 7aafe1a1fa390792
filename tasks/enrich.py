"""Enrich tasks: prepare a run over stored records once, enrich their batches; request items.

All stored-record enrichment — onboard's stage, `enrich-catalog`, `rerun-stage`, `monitor` —
goes through `enrichment.stage` (prepare once, then batch by batch).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from catalog.db import session_scope
from catalog.filters import RecordFilter
from catalog.progress import add_progress
from catalog.records import id_ranges, pending_record_ids
from enrichment.config import EnrichConfig
from enrichment.engine import enrich_items
from enrichment.output_schema import OutputSchema
from enrichment.stage import (
    STAGE,
    PreparedEnrichment,
    catalog_enriches_anything,
    enrich_stored_records,
    plan_enrichment,
    prepare_models,
    record_llm_credits,
)
from tasks.policy import TASK_OPTIONS, is_transient_failure


@task(name="prepare-enrichment", cache_policy=NO_CACHE)
def prepare_enrich(
    *,
    store_url: str,
    catalog_id: int,
    config: EnrichConfig,
    models_dir: str,
    batch_size: int,
    output_schema: list[dict[str, Any]] | None = None,
    record_filter: RecordFilter | None = None,
) -> tuple[PreparedEnrichment | None, list[tuple[int, int]]]:
    """The run's plan and the id ranges still to enrich; the catalogue's models are trained
    (or reused) only when something is left to enrich. Without an ``output_schema``, a
    catalogue that derives nothing to enrich has no plan (None) and nothing to do."""
    with session_scope(store_url) as session:
        if output_schema is None and not catalog_enriches_anything(
            session, catalog_id=catalog_id
        ):
            return None, []
        plan = plan_enrichment(
            session, catalog_id=catalog_id, config=config, output_schema=output_schema
        )
        ids = pending_record_ids(
            session,
            catalog_id=catalog_id,
            stage=STAGE,
            version=plan.version,
            record_filter=record_filter,
        )
        ranges = id_ranges(ids, batch_size)
        if ranges:
            plan = prepare_models(session, plan, models_dir=Path(models_dir))
    return plan, ranges


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
    prepared: PreparedEnrichment,
    id_range: tuple[int, int],
    record_filter: RecordFilter | None = None,
) -> dict[str, int]:
    """Enrich the stored records of one id range not yet enriched at this version."""
    with prepared.options() as options, session_scope(store_url) as session:
        ids = pending_record_ids(
            session,
            catalog_id=prepared.catalog_id,
            stage=STAGE,
            version=prepared.version,
            id_range=id_range,
            record_filter=record_filter,
        )
        outcome = enrich_stored_records(
            session, prepared=prepared, options=options, record_ids=ids, run_id=run_id
        )
        record_llm_credits(session, run_id=run_id, tokens=outcome.counts["llm_tokens"])
        add_progress(session, run_id=run_id, stage=STAGE, counts=outcome.counts)
    return dict(outcome.counts)


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
        options.close()
    return [r.as_result(include_explanations=include_explanations) for r in results]
