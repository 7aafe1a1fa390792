"""Flow `enrich-catalog`: enrich a stored catalogue's records into scored changes and conflicts.

Records are read in id-range tasks with stage marks, so a re-run does nothing new; values that
disagree with a non-empty existing one open conflicts instead of overwriting.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from catalog.db import session_scope
from catalog.models import Organization, RunStatus
from catalog.repository import catalog_schema, finish_run, get_catalog, start_run
from catalog.settings import get_settings, normalize_database_url
from enrichment.config import EnrichConfig
from enrichment.output_schema import OutputSchema
from enrichment.store import STAGE as EVIDENCE_STAGE
from enrichment.store import evidence_version
from tasks.enrich import enrich_stored_batch
from tasks.plan import plan_batches


@flow(name="enrich-catalog")
def enrich_catalog(
    catalog: str,
    output_schema: list[dict[str, Any]],
    config: EnrichConfig | None = None,
    organization: str | None = None,
    database_url: str | None = None,
    batch_size: int | None = None,
) -> dict[str, Any]:
    """Enrich a stored catalogue's records against `output_schema`, every value cited.

    New values become scored changes (applied, queued for review or dropped by the catalogue's
    thresholds); values that disagree with a non-empty current value open conflicts. Records
    already enriched at their current content with the same schema and settings are skipped, so
    a re-run or a resumed run does only what is left.

    Args:
        catalog: the catalogue's name in `organization`.
        output_schema: seed 003 field list.
        config: providers, pages, tables, LLM switch (`EnrichConfig`).
    """
    logger = get_run_logger()
    settings = get_settings()
    store_url = normalize_database_url(database_url) if database_url else settings.store_url
    batch_size = batch_size or settings.batch_size
    fields = OutputSchema.parse(output_schema)
    config = config or EnrichConfig()
    version = evidence_version(fields, config.model_dump_json())
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
            params={"catalog": catalog, "fields": fields.names},
            flow_run_id=str(flow_run.id) if flow_run.id else None,
        ).id
        common = {
            "store_url": store_url,
            "run_id": run_id,
            "organization_id": stored.organization_id,
            "catalog_id": stored.id,
            "schema": catalog_schema(stored),
        }
    totals: Counter[str] = Counter()
    try:
        ranges = plan_batches(
            store_url=store_url,
            catalog_id=common["catalog_id"],
            stage=EVIDENCE_STAGE,
            version=version,
            batch_size=batch_size,
        )
        for id_range in ranges:
            totals.update(
                enrich_stored_batch(
                    **common,
                    output_schema=output_schema,
                    config=config,
                    id_range=id_range,
                    version=version,
                )
            )
    except BaseException as exc:
        with session_scope(store_url) as session:
            finish_run(session, run_id=run_id, status=RunStatus.FAILED, error=str(exc)[:2000])
        raise
    with session_scope(store_url) as session:
        finish_run(session, run_id=run_id, status=RunStatus.COMPLETED)
    logger.info("enrich-catalog %s: %s", catalog, dict(totals))
    return {"run_id": run_id, "counts": dict(totals)}
