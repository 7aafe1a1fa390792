"""The per-stage loops the flows share: plan the batches a stage has not yet seen, run its
task over them on the flow's task runner, advance the run's progress. `onboard`, `classify`,
`enrich-catalog`, `rerun-stage`, `monitor` and `quality-report` call these, so a stage runs
the same way whichever flow asks for it.

Batches are submitted together and run in parallel on the runner (threads, or Dask worker
processes: see `flows/support/task_runners.py`); each batch is its own transaction over a
disjoint id range, so they don't wait on each other. A SQLite store has one writer: there the
batches run one at a time, and the run's log says so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from prefect import Task, get_run_logger
from prefect.futures import as_completed

from catalog.db import is_sqlite
from catalog.filters import RecordFilter
from catalog.schema import CatalogSchema
from catalog.settings import get_settings
from enrichment.config import EnrichConfig
from flows.support.artifacts import publish_validation_report
from flows.support.runs import OpenRun
from tasks.classify import classify_batch, prepare
from tasks.enrich import enrich_batch, prepare_enrich
from tasks.plan import plan_batches
from tasks.validate import validate
from taxonomy.assign import classify_version, taxonomy_from_file


def run_batches(
    batch_task: Task,
    ranges: Sequence[tuple[int, int]],
    *,
    store_url: str,
    progress: Any | None,
    **parameters: Any,
) -> Counter[str]:
    """Run `batch_task(id_range=..., store_url=..., **parameters)` over every range and wait
    for all of them; returns their summed counts. Parameters travel to the workers, so they
    are keys, paths and small models of plain data, never loaded models or records.

    Raises the first failed batch's error once the batches already running have settled
    (each is idempotent: a re-run does only what is left)."""
    totals: Counter[str] = Counter()
    if not ranges:
        return totals

    def submit(id_range: tuple[int, int]) -> Any:
        return batch_task.submit(id_range=id_range, store_url=store_url, **parameters)

    if is_sqlite(store_url):
        if len(ranges) > 1:
            get_run_logger().info(
                "%s: the SQLite store keeps one writer; %d batches run one at a time "
                "(a PostgreSQL store runs them in parallel)",
                batch_task.name,
                len(ranges),
            )
        for id_range in ranges:
            totals.update(submit(id_range).result())
            if progress is not None:
                progress.advance()
        return totals
    futures = [submit(id_range) for id_range in ranges]
    failure: Exception | None = None
    for future in as_completed(futures):
        try:
            totals.update(future.result())
        except Exception as exc:  # re-raised once the others have settled
            failure = failure or exc
            continue
        if progress is not None:
            progress.advance()
    if failure is not None:
        raise failure
    return totals


def classify_stored(
    *,
    store_url: str,
    run_id: int,
    catalog_id: int,
    schema: CatalogSchema,
    taxonomy: str,
    batch_size: int,
    progress: Any | None,
    record_filter: RecordFilter | None = None,
    llm: bool = False,
) -> tuple[str, Counter[str]]:
    """The classify stage over a stored catalogue: prepare the classifier once, then every
    batch not yet classified at its content. With `llm`, predictions under the auto-apply
    threshold get the LLM cascade (a version of its own). Returns the model's path and the
    summed counts."""
    common = {"store_url": store_url, "catalog_id": catalog_id, "schema": schema}
    model_path = prepare(
        **common, taxonomy_path=taxonomy, models_dir=str(get_settings().models_dir)
    )
    version = classify_version(schema, taxonomy_from_file(taxonomy))
    below = None
    if llm and schema.category_attribute is not None:
        below = schema.thresholds_for(schema.category_attribute.name).auto_apply
        version += "+llm"
    ranges = plan_batches(
        store_url=store_url,
        catalog_id=catalog_id,
        stage="classify",
        version=version,
        batch_size=batch_size,
        record_filter=record_filter,
    )
    if progress is not None:
        progress.plan(len(ranges))
    totals = run_batches(
        classify_batch,
        ranges,
        store_url=store_url,
        progress=progress,
        catalog_id=catalog_id,
        schema=schema,
        run_id=run_id,
        taxonomy_path=taxonomy,
        model_path=model_path,
        version=version,
        llm_below=below,
        record_filter=record_filter,
    )
    return model_path, totals


def classify_pending(opened: OpenRun, taxonomy: str, progress: Any) -> None:
    """Classify, batch by batch, the records classify has not seen at their content."""
    classify_stored(
        store_url=opened.store_url,
        run_id=opened.run_id,
        catalog_id=opened.catalog_id,
        schema=opened.schema,
        taxonomy=taxonomy,
        batch_size=opened.batch_size,
        progress=progress,
        record_filter=opened.record_filter,
    )


def catalog_enrich_config(companies: str | None) -> EnrichConfig:
    """How the chain enriches a catalogue (onboard, monitor, rerun-stage): offline — the
    records' own text, the learned extractor, the companies table; no pages, no LLM."""
    return EnrichConfig(companies_path=companies, web_search=False)


def enrich_pending(opened: OpenRun, companies: str | None, progress: Any) -> None:
    """Enrich, batch by batch, the records enrich has not seen at their content."""
    enrich_stored(
        store_url=opened.store_url,
        run_id=opened.run_id,
        catalog_id=opened.catalog_id,
        batch_size=opened.batch_size,
        config=catalog_enrich_config(companies),
        progress=progress,
        record_filter=opened.record_filter,
    )


def enrich_stored(
    *,
    store_url: str,
    run_id: int,
    catalog_id: int,
    batch_size: int,
    config: EnrichConfig,
    progress: Any | None,
    output_schema: list[dict[str, Any]] | None = None,
    record_filter: RecordFilter | None = None,
) -> Counter[str]:
    """The enrich stage over a stored catalogue: prepare once (models trained or reused only
    when records are pending), then each pending batch. Returns the summed counts."""
    prepared, ranges = prepare_enrich(
        store_url=store_url,
        catalog_id=catalog_id,
        config=config,
        models_dir=str(get_settings().models_dir),
        batch_size=batch_size,
        output_schema=output_schema,
        record_filter=record_filter,
    )
    logger = get_run_logger()
    if prepared is None:
        logger.info("enrich: the catalogue derives no attribute to enrich; stage skipped")
        return Counter()
    for note in prepared.notes:
        logger.info("enrich: %s", note)
    if progress is not None:
        progress.plan(len(ranges))
    return run_batches(
        enrich_batch,
        ranges,
        store_url=store_url,
        progress=progress,
        run_id=run_id,
        prepared=prepared,
        record_filter=record_filter,
    )


def validate_and_report(opened: OpenRun, *, hold_invalid: bool = False) -> dict[str, Any]:
    """Run the catalogue's validation suite and publish the report as an artifact;
    `hold_invalid` as in the validate task (re-running the stage does, a report does not)."""
    result = validate(
        store_url=opened.store_url,
        run_id=opened.run_id,
        catalog_id=opened.catalog_id,
        schema=opened.schema,
        batch_size=opened.batch_size,
        reports_dir=str(get_settings().reports_dir),
        record_filter=opened.record_filter,
        hold_invalid=hold_invalid,
    )
    publish_validation_report(
        catalog=opened.schema.name, markdown=result["markdown"], success=result["success"]
    )
    return result
