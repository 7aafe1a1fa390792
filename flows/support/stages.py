"""The per-stage loops the flows share: plan the batches a stage has not yet seen, run its
task over each, advance the run's progress. `rerun-stage`, `monitor` and `quality-report`
call these, so a stage runs the same way whichever flow asks for it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from prefect import get_run_logger

from catalog.filters import RecordFilter
from catalog.settings import get_settings
from enrichment.config import EnrichConfig
from flows.support.artifacts import publish_validation_report
from flows.support.runs import OpenRun
from tasks.classify import classify_batch, prepare
from tasks.enrich import enrich_batch, prepare_enrich
from tasks.plan import plan_batches
from tasks.validate import validate
from taxonomy.assign import classify_version, taxonomy_from_file


def classify_pending(opened: OpenRun, taxonomy: str, progress: Any) -> None:
    """Classify, batch by batch, the records classify has not seen at their content."""
    common = {
        "store_url": opened.store_url,
        "catalog_id": opened.catalog_id,
        "schema": opened.schema,
    }
    model_path = prepare(
        **common, taxonomy_path=taxonomy, models_dir=str(get_settings().models_dir)
    )
    version = classify_version(opened.schema, taxonomy_from_file(taxonomy))
    for id_range in _planned(opened, "classify", version, progress):
        classify_batch(
            **common,
            run_id=opened.run_id,
            taxonomy_path=taxonomy,
            model_path=model_path,
            id_range=id_range,
            version=version,
            record_filter=opened.record_filter,
        )
        progress.advance()


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
    totals: Counter[str] = Counter()
    for id_range in ranges:
        totals.update(
            enrich_batch(
                store_url=store_url,
                run_id=run_id,
                prepared=prepared,
                id_range=id_range,
                record_filter=record_filter,
            )
        )
        if progress is not None:
            progress.advance()
    return totals


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


def _planned(opened: OpenRun, stage: str, version: str, progress: Any) -> list[tuple[int, int]]:
    ranges = plan_batches(
        store_url=opened.store_url,
        catalog_id=opened.catalog_id,
        stage=stage,
        version=version,
        batch_size=opened.batch_size,
        record_filter=opened.record_filter,
    )
    progress.plan(len(ranges))
    return ranges
