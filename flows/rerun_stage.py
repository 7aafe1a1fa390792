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
from pydantic.json_schema import SkipJsonSchema

from catalog.errors import ValidationFailed
from catalog.filters import RecordFilter
from catalog.models import RunStatus
from flows.support.announce import announce_end, announce_start
from flows.support.runs import close_run, open_run
from flows.support.stages import classify_pending, enrich_pending, validate_and_report
from flows.support.task_runners import SettingsTaskRunner

Stage = Literal["classify", "enrich", "validate"]


@flow(name="rerun-stage", task_runner=SettingsTaskRunner())
def rerun_stage(
    catalog: str,
    stage: Stage,
    taxonomy: str | None = None,
    companies: str | None = None,
    record_filter: RecordFilter | None = None,
    organization: str | None = None,
    database_url: SkipJsonSchema[str | None] = None,
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
            result = validate_and_report(opened, hold_invalid=True)
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
