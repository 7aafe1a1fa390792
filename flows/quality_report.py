"""Flow `quality-report`: the weekly data-quality report of a catalogue.

Runs the catalogue's validation suite over its current values and counts what waits for
review; publishes both as artifacts and saves the report under `.skuflow/reports/`, beside the
Analyse page written as one HTML file (`quality-<catalogue>-run-<id>.html`, linked from the
run's artifacts; the workbench shows the same page at `/ui/catalogs/<name>/analyse`). It
reports and never halts anything: a failing expectation is a finding, so the run completes.
Reads the store only; re-running is safe.
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from pydantic.json_schema import SkipJsonSchema

from catalog.changes import ChangeFilter, status_counts
from catalog.db import session_scope
from catalog.filters import RecordFilter
from catalog.models import RunStatus
from catalog.settings import get_settings
from flows.support.announce import announce_end, announce_start
from flows.support.artifacts import artifact_key, publish_quality_page
from flows.support.runs import close_run, open_run
from flows.support.stages import validate_and_report
from tasks.report import quality_page


@flow(name="quality-report")
def quality_report(
    catalog: str,
    record_filter: RecordFilter | None = None,
    organization: str | None = None,
    database_url: SkipJsonSchema[str | None] = None,
) -> dict[str, Any]:
    """Validate the catalogue as it stands and report it.

    Args:
        catalog: name of a stored catalogue (or its schema YAML).
        record_filter: only the records it selects (external ids, values, category, …).
    """
    opened = open_run(
        catalog=catalog,
        operation="quality_report",
        params={},
        organization=organization,
        database_url=database_url,
        record_filter=record_filter,
    )
    announce_start(store_url=opened.store_url, run_id=opened.run_id)
    try:
        result = validate_and_report(opened)
        with session_scope(opened.store_url) as session:
            queue = dict(status_counts(session, where=ChangeFilter(catalog_id=opened.catalog_id)))
        page = quality_page(
            store_url=opened.store_url,
            catalog_id=opened.catalog_id,
            run_id=opened.run_id,
            validation_report=result["report"],
            path=str(
                get_settings().reports_dir
                / f"quality-{artifact_key(opened.schema.name)}-run-{opened.run_id}.html"
            ),
        )
        publish_quality_page(catalog=opened.schema.name, path=page)
    except Exception as exc:
        close_run(opened, RunStatus.FAILED, error=str(exc))
        announce_end("failed", store_url=opened.store_url, run_id=opened.run_id)
        raise
    close_run(
        opened,
        RunStatus.COMPLETED,
        report_path=result["report"],
        extra={
            "quality": {
                "passed": int(result["success"]),
                "failed_expectations": len(result["failed"]),
            },
            "catalogue_changes": queue,
            "quality_page": page,
        },
    )
    return announce_end("completed", store_url=opened.store_url, run_id=opened.run_id)
