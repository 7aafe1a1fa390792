"""Flow `dedupe`: find duplicates in a stored catalogue and merge them, as reviewable changes.

Reads the catalogue's records from the store; matches those dedupe has not seen at their
content (new or edited since the last run) against the whole catalogue — blocking on
identifiers and title neighbours, a pair model (the schema's `matching.model`, one trained on
the catalogue's own merge decisions, or Fellegi–Sunter without labels), clustering that one
wrong link cannot chain. Writes each proposed merge as a group of changes: applied at or above
`matching.auto_merge`, queued for review in between, dropped below `matching.reject`. An
unmerge is a rollback (`skuflow rollback --change ID`, or the API), which restores both
records exactly.

Re-running is safe: unchanged records are not matched again, and a merge already proposed,
decided or undone from the same content is not proposed again.
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from pydantic.json_schema import SkipJsonSchema

from catalog.filters import RecordFilter
from catalog.models import RunStatus
from flows.support.runs import close_run, open_run
from tasks.dedupe import dedupe as dedupe_task


@flow(name="dedupe")
def dedupe(
    catalog: str,
    model: str | None = None,
    organization: str | None = None,
    database_url: SkipJsonSchema[str | None] = None,
    record_filter: RecordFilter | None = None,
) -> dict[str, Any]:
    """Deduplicate a stored catalogue.

    Args:
        catalog: name of a stored catalogue, or its schema YAML.
        model: pair model file from `skuflow match train` (default: the schema's, else
            learned from the catalogue's decisions, else unsupervised).
        record_filter: match only the records it selects (against the whole catalogue).
    """
    opened = open_run(
        catalog=catalog,
        operation="dedupe",
        params={"model": model},
        organization=organization,
        database_url=database_url,
        record_filter=record_filter,
    )
    try:
        counts = dedupe_task(
            store_url=opened.store_url,
            run_id=opened.run_id,
            catalog_id=opened.catalog_id,
            schema=opened.schema,
            model_path=model,
            record_filter=opened.record_filter,
        )
    except Exception as exc:
        close_run(opened, RunStatus.FAILED, error=str(exc))
        raise
    close_run(opened, RunStatus.COMPLETED, extra={"dedupe": counts})
    return {"run_id": opened.run_id, **counts}
