"""Flow `rerun-stage`: run one stage of the chain again over a stored catalogue, without the
others — classify (e.g. after a new taxonomy or approved labels), enrich (new reference
data), or validate. Distribution is the `export` flow.

Only records whose content or stage version changed since the stage last saw them are
processed, so re-running is safe and cheap; changes go through the same thresholds and review
queue as in `onboard`.
"""

from __future__ import annotations

from typing import Any, Literal

from prefect import flow

from catalog.errors import ValidationFailed
from catalog.filters import RecordFilter
from catalog.models import RunStatus
from catalog.settings import get_settings
from enrichment.apply import enrich_version
from tasks.announce import announce_end, announce_start
from tasks.artifacts import publish_validation_report
from tasks.classify import classify_batch, prepare
from tasks.enrich import enrich_batch
from tasks.plan import plan_batches
from tasks.runs import OpenRun, close_run, open_run
from tasks.validate import validate
from taxonomy.assign import classify_version, taxonomy_from_file

Stage = Literal["classify", "enrich", "validate"]


@flow(name="rerun-stage")
def rerun_stage(
    catalog: str,
    stage: Stage,
    taxonomy: str | None = None,
    companies: str | None = None,
    record_filter: RecordFilter | None = None,
    organization: str | None = None,
    database_url: str | None = None,
) -> dict[str, Any]:
    """Re-run one stage.

    Args:
        catalog: name of a stored catalogue (or its schema YAML).
        stage: classify (needs `taxonomy`), enrich (optionally `companies`) or validate.
        record_filter: only the records it selects (external ids, values, category, …).
    """
    opened = open_run(
        catalog=catalog,
        operation=stage,
        params={"stage": stage, "taxonomy": taxonomy, "companies": companies},
        organization=organization,
        database_url=database_url,
        record_filter=record_filter,
    )
    progress = announce_start(store_url=opened.store_url, run_id=opened.run_id)
    report_path = None
    try:
        if stage == "classify":
            if not taxonomy:
                raise ValueError("re-running classify needs the taxonomy file")
            classify_pending(opened, taxonomy, progress)
        elif stage == "enrich":
            enrich_pending(opened, companies, progress)
        else:
            result = validate_and_report(opened)
            report_path = result["report"]
            if not result["success"]:
                raise ValidationFailed(result["report"], result["markdown"])
    except Exception as exc:
        close_run(opened, RunStatus.FAILED, error=str(exc), report_path=report_path)
        announce_end("failed", store_url=opened.store_url, run_id=opened.run_id)
        raise
    close_run(opened, RunStatus.COMPLETED, report_path=report_path)
    return announce_end(
        "completed", store_url=opened.store_url, run_id=opened.run_id, progress=progress
    )


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
