"""The per-stage loops the flows share: plan the batches a stage has not yet seen, run its
task over each, advance the run's progress. `rerun-stage`, `monitor` and `quality-report`
call these, so a stage runs the same way whichever flow asks for it.
"""

from __future__ import annotations

from typing import Any

from catalog.settings import get_settings
from enrichment.apply import enrich_version
from flows.support.artifacts import publish_validation_report
from flows.support.runs import OpenRun
from tasks.classify import classify_batch, prepare
from tasks.enrich import enrich_batch
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


def enrich_pending(opened: OpenRun, companies: str | None, progress: Any) -> None:
    """Enrich, batch by batch, the records enrich has not seen at their content."""
    version = enrich_version(opened.schema, companies)
    for id_range in _planned(opened, "enrich", version, progress):
        enrich_batch(
            store_url=opened.store_url,
            run_id=opened.run_id,
            catalog_id=opened.catalog_id,
            schema=opened.schema,
            companies_path=companies,
            id_range=id_range,
            version=version,
            record_filter=opened.record_filter,
        )
        progress.advance()


def validate_and_report(opened: OpenRun) -> dict[str, Any]:
    """Run the catalogue's validation suite and publish the report as an artifact."""
    result = validate(
        store_url=opened.store_url,
        run_id=opened.run_id,
        catalog_id=opened.catalog_id,
        schema=opened.schema,
        batch_size=opened.batch_size,
        reports_dir=str(get_settings().reports_dir),
        record_filter=opened.record_filter,
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
