"""Flow `enrich`: fill an output schema for request items, every value cited (seed 003).

Returns seed 003's response body (without the job bookkeeping the API adds: job id, credits).
Works in chunks, one task each, retried only on passing faults; nothing is stored, so
re-running is safe.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

from enrichment.config import EnrichConfig
from enrichment.output_schema import OutputSchema
from tasks.enrich import enrich_item_batch

DEFAULT_CHUNK = 200


@flow(name="enrich")
def enrich(
    items: list[dict[str, Any]],
    output_schema: list[dict[str, Any]],
    config: EnrichConfig | None = None,
    max_rows: int | None = None,
    include_source_explanations: bool = False,
    chunk_size: int = DEFAULT_CHUNK,
    search_block: str | None = None,
) -> dict[str, Any]:
    """Enrich `items` against `output_schema`.

    Args:
        items: JSON objects to enrich.
        output_schema: seed 003 field list (name, type, description, unit, enum, …).
        config: providers, pages, reference tables, LLM switch, quality prompt (see
            `EnrichConfig`); web search on, LLM off by default.
        max_rows: enrich only the first N items (a dry run).
        include_source_explanations: add `source_explanations` to each `after_data`.
        search_block: a saved `skuflow-searxng` block naming the search backend to use.
    """
    logger = get_run_logger()
    OutputSchema.parse(output_schema)  # a malformed schema fails the run before any work
    config = config or EnrichConfig()
    if search_block:
        config = config.with_search_block(search_block)
    chosen = items[:max_rows] if max_rows is not None else items
    results: list[dict[str, Any]] = []
    for start in range(0, len(chosen), max(1, chunk_size)):
        results += enrich_item_batch(
            items=chosen[start : start + chunk_size],
            output_schema=output_schema,
            config=config,
            include_explanations=include_source_explanations,
        )
    successful = sum(1 for r in results if "error" not in r)
    logger.info("enriched %d of %d item(s)", successful, len(chosen))
    return {
        "results": results,
        "total_items": len(chosen),
        "total_rows": len(items),
        "successful": successful,
        "status": "completed",
    }
