"""Validate task: run the schema's suite over the catalogue and save the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from catalog.checks import validate_catalog
from catalog.db import session_scope
from catalog.filters import RecordFilter
from catalog.schema import CatalogSchema


@task(name="validate", cache_policy=NO_CACHE)
def validate(
    *,
    store_url: str,
    run_id: int,
    catalog_id: int,
    schema: CatalogSchema,
    batch_size: int,
    reports_dir: str,
    record_filter: RecordFilter | None = None,
    hold_invalid: bool = False,
) -> dict[str, Any]:
    """Validate; with `hold_invalid` a catalogue in `on_invalid: quarantine` holds the records
    that break a blocking rule instead of failing (the chain's doors do; a report does not)."""
    with session_scope(store_url) as session:
        saved = validate_catalog(
            session,
            catalog_id=catalog_id,
            schema=schema,
            batch_size=batch_size,
            reports_dir=Path(reports_dir),
            run_id=run_id,
            record_filter=record_filter,
            hold_invalid=hold_invalid,
        )
    return {
        "success": saved.report.success,
        "report": str(saved.json_path),
        "markdown": saved.markdown_path.read_text(encoding="utf-8"),
        "failed": [r.spec.name for r in saved.report.failed()],
    }
