"""Classify tasks: build the catalogue's classifier once, then classify batches of records."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from catalog.db import session_scope
from catalog.filters import RecordFilter
from catalog.progress import add_progress
from catalog.records import pending_record_ids
from catalog.schema import CatalogSchema
from tasks.policy import TASK_OPTIONS, is_transient_failure
from taxonomy.assign import (
    STAGE,
    cached_classifier,
    cascade_for,
    classify_records,
    prepare_classifier,
    record_llm_usage,
    taxonomy_from_file,
)


@task(name="prepare-classifier", cache_policy=NO_CACHE)
def prepare(
    *, store_url: str, catalog_id: int, schema: CatalogSchema, taxonomy_path: str, models_dir: str
) -> str:
    with session_scope(store_url) as session:
        path = prepare_classifier(
            session,
            catalog_id=catalog_id,
            schema=schema,
            taxonomy=taxonomy_from_file(taxonomy_path),
            models_dir=Path(models_dir),
        )
    return str(path)


@task(
    name="classify-batch",
    cache_policy=NO_CACHE,
    retry_condition_fn=is_transient_failure,
    **TASK_OPTIONS,
)
def classify_batch(
    *,
    store_url: str,
    run_id: int,
    catalog_id: int,
    schema: CatalogSchema,
    taxonomy_path: str,
    model_path: str,
    id_range: tuple[int, int],
    version: str,
    llm_below: float | None = None,
    record_filter: RecordFilter | None = None,
) -> dict[str, int]:
    """Classify the records of one id range that still need it (so a retry, or a resumed run,
    does only what is left). With `llm_below`, predictions under it get the LLM cascade and
    the tokens it spends are added to the run's credits."""
    taxonomy = taxonomy_from_file(taxonomy_path)
    classifier = cached_classifier(model_path)
    cascade = cascade_for(classifier, taxonomy, below=llm_below) if llm_below else None
    with session_scope(store_url) as session:
        ids = pending_record_ids(
            session,
            catalog_id=catalog_id,
            stage=STAGE,
            version=version,
            id_range=id_range,
            record_filter=record_filter,
        )
        counts = classify_records(
            session,
            catalog_id=catalog_id,
            schema=schema,
            taxonomy=taxonomy,
            classifier=cascade or classifier,
            record_ids=ids,
            run_id=run_id,
            version=version,
        )
        if cascade is not None:
            counts.update(record_llm_usage(session, run_id=run_id, usage=cascade.usage))
        add_progress(session, run_id=run_id, stage=STAGE, counts=counts)
    return dict(counts)
