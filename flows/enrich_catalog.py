"""Flow `enrich-catalog`: enrich a stored catalogue's records into scored changes and conflicts.

Goes through the one enrich stage (`enrichment.stage`): the catalogue's learned extractor is
trained or reused once per run, records are read in id-range tasks with stage marks, so a
re-run does nothing new; values that disagree with a non-empty existing one open conflicts
instead of overwriting.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from pydantic.json_schema import SkipJsonSchema

from catalog.db import session_scope
from catalog.models import Organization, RunStatus
from catalog.repository import get_catalog, start_run
from catalog.settings import get_settings, normalize_database_url
from enrichment.config import EnrichConfig
from flows.support.runs import close_stored_run
from flows.support.stages import enrich_stored
from flows.support.task_runners import SettingsTaskRunner


@flow(name="enrich-catalog", task_runner=SettingsTaskRunner())
def enrich_catalog(
    catalog: str,
    output_schema: list[dict[str, Any]] | None = None,
    config: EnrichConfig | None = None,
    organization: str | None = None,
    database_url: SkipJsonSchema[str | None] = None,
    batch_size: int | None = None,
    search_block: str | None = None,
) -> dict[str, Any]:
    """Enrich a stored catalogue's records against `output_schema`, every value cited.

    New values become scored changes (applied, queued for review or dropped by the catalogue's
    thresholds); values that disagree with a non-empty current value open conflicts. Records
    already enriched at their current content with the same schema and settings are skipped, so
    a re-run or a resumed run does only what is left.

    Args:
        catalog: the catalogue's name in `organization`.
        output_schema: seed 003 field list; the catalogue's model-filled attributes when
            omitted.
        config: providers, pages, tables, LLM switch, search (`EnrichConfig`).
        search_block: a saved `skuflow-searxng` block naming the search backend to use.
    """
    logger = get_run_logger()
    settings = get_settings()
    store_url = normalize_database_url(database_url) if database_url else settings.store_url
    batch_size = batch_size or settings.batch_size
    config = config or EnrichConfig()
    if search_block:
        config = config.with_search_block(search_block)
    with session_scope(store_url) as session:
        stored = get_catalog(
            session, organization=organization or settings.organization, name=catalog
        )
        org = session.get(Organization, stored.organization_id)
        run_id = start_run(
            session,
            organization=org,
            catalog=stored,
            operation="enrich",
            params={"catalog": catalog, "fields": [f.get("name") for f in output_schema or []]},
            flow_run_id=str(flow_run.id) if flow_run.id else None,
        ).id
        catalog_id = stored.id
    try:
        totals = enrich_stored(
            store_url=store_url,
            run_id=run_id,
            catalog_id=catalog_id,
            batch_size=batch_size,
            config=config,
            progress=None,
            output_schema=output_schema,
        )
    except BaseException as exc:
        close_stored_run(store_url, run_id, RunStatus.FAILED, error=str(exc)[:2000])
        raise
    close_stored_run(store_url, run_id, RunStatus.COMPLETED)
    logger.info("enrich-catalog %s: %s", catalog, dict(totals))
    return {"run_id": run_id, "counts": dict(totals)}
