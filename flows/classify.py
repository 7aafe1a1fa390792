"""Flow `classify`: put a stored catalogue's records into a taxonomy, as scored changes.

Reads the catalogue's records and labels (categories given by suppliers or approved by a
person) from the store and a taxonomy file; trains or reuses the catalogue's classifier
(supervised with enough labels, zero-shot otherwise) and writes one change per record whose
category it proposes, with the model's name and version as provenance. Confident changes are
applied, the rest queued for review or dropped by the catalogue's thresholds.

With `llm=True`, records below the auto-apply threshold get a second opinion from the
OpenAI-compatible endpoint in SKUFLOW_LLM_* (off by default); its tokens become the run's
credits.

Re-running is safe: only records whose content, or the classify version (schema text fields,
taxonomy, cascade switch), changed since the last run are processed, and no change is
recorded twice.
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from pydantic.json_schema import SkipJsonSchema

from catalog.models import RunStatus
from flows.support.runs import close_run, open_run
from flows.support.stages import classify_stored
from flows.support.task_runners import SettingsTaskRunner


@flow(name="classify", task_runner=SettingsTaskRunner())
def classify(
    catalog: str,
    taxonomy: str,
    llm: bool = False,
    organization: str | None = None,
    database_url: SkipJsonSchema[str | None] = None,
) -> dict[str, Any]:
    """Classify a stored catalogue into `taxonomy`.

    Args:
        catalog: name of a stored catalogue, or its schema YAML.
        taxonomy: taxonomy file (Google text, Shopify, CSV, YAML, label paths).
        llm: send records below the auto-apply threshold to the LLM cascade.
    """
    opened = open_run(
        catalog=catalog,
        operation="classify",
        params={"taxonomy": taxonomy, "llm": llm},
        organization=organization,
        database_url=database_url,
    )
    totals: dict[str, int] = {}
    try:
        category = opened.schema.category_attribute
        if category is None:
            raise ValueError(f"catalogue '{opened.schema.name}' has no attribute to classify")
        model_path, counts = classify_stored(
            store_url=opened.store_url,
            run_id=opened.run_id,
            catalog_id=opened.catalog_id,
            schema=opened.schema,
            taxonomy=taxonomy,
            batch_size=opened.batch_size,
            progress=None,
            llm=llm,
        )
        totals = dict(counts)
    except Exception as exc:
        close_run(opened, RunStatus.FAILED, error=str(exc))
        raise
    close_run(opened, RunStatus.COMPLETED, extra={"classify": totals})
    return {"run_id": opened.run_id, "model_path": model_path, **totals}
