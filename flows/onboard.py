"""Flow `onboard`: ingest → normalize → classify → enrich → dedupe → validate → distribute.

Dedupe runs when the schema's `matching:` section turns it on (`enabled: true`).

Reads a supplier file (CSV, XLSX, JSON, JSONL) or any saved source block (S3, PostgreSQL,
BigQuery, HTTPS, …) and a catalogue schema; writes records and changes to the store, then the
validated catalogue to files, a database table and any saved destination blocks, all committed
together or not at all. An incremental source (S3 prefix, cursor column) reads only what changed
since its last successful run.
Re-running is safe: unchanged rows are skipped, each stage processes only records whose
content it has not seen, and every change is recorded once. A run killed half-way resumes
where the store says it stopped. A failed blocking expectation halts the run before anything
is distributed; the report is saved under `.skuflow/reports/`.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from pydantic.json_schema import SkipJsonSchema

from catalog.db import session_scope
from catalog.errors import ValidationFailed
from catalog.filters import RecordFilter
from catalog.models import Run, RunStatus
from catalog.repository import (
    catalog_schema,
    get_catalog,
    get_or_create_organization,
    start_run,
    upsert_catalog,
)
from catalog.rows import Source
from catalog.schema import CatalogSchema
from catalog.settings import get_settings, normalize_database_url
from connectors.by_name import load_destination, load_source
from connectors.files import FileSource
from flows.support.announce import announce_end, announce_start
from flows.support.artifacts import publish_validation_report
from flows.support.review_checkpoint import TimeoutPolicy, review_checkpoint
from flows.support.runs import bind_filter, close_stored_run, filter_params
from flows.support.stages import catalog_enrich_config, classify_stored, enrich_stored
from flows.support.targets import build_targets
from flows.support.task_runners import SettingsTaskRunner
from tasks.dedupe import dedupe
from tasks.distribute import distribute
from tasks.ingest import ingest
from tasks.validate import validate


@flow(name="onboard", task_runner=SettingsTaskRunner())
def onboard(
    source: str,
    catalog: str,
    taxonomy: str | None = None,
    companies: str | None = None,
    out: str | None = None,
    formats: list[str] | None = None,
    table: str | None = None,
    table_password_block: str | None = None,
    organization: str | None = None,
    database_url: SkipJsonSchema[str | None] = None,
    batch_size: int | None = None,
    run_id: SkipJsonSchema[int | None] = None,
    column_overrides: dict[str, str] | None = None,
    encoding: str = "utf-8",
    review: bool = False,
    review_timeout_seconds: int = 3600,
    on_review_timeout: TimeoutPolicy = "fail",
    destinations: list[str] | None = None,
    record_filter: RecordFilter | None = None,
) -> dict[str, Any]:
    """Onboard a supplier file into a catalogue and publish the validated result.

    Args:
        source: path (or glob) of the supplier file, or `block:<block-type-slug>/<name>` for a
            saved source block (e.g. `block:skuflow-s3-source/supplier-feeds`).
        catalog: path of the catalogue schema YAML, or the name of a stored catalogue.
        taxonomy: taxonomy file (Google `id - A > B` text or CSV `id,path`) for classification.
        companies: reference table of companies (CSV) for supplier firmographics.
        out: directory for file exports; `formats` picks csv, jsonl and/or parquet.
        table: `SQLALCHEMY_URL#table` to upsert the catalogue into (without its password:
            the flow run's parameters are shown in the Prefect UI).
        table_password_block: a Secret block holding the table database's password
            (`skuflow onboard --table` saves one when the URL carries a password).
        run_id: a run already created by the caller (the CLI does, to follow progress).
        column_overrides: explicit `{file column: attribute}` mapping on top of the schema's.
        encoding: text encoding of a CSV/JSON source.
        destinations: saved destination blocks as `<block-type-slug>/<name>[:mode]` (mode
            append, upsert or replace; default replace for file/S3 dumps, else upsert).
        review: pause before validation until a person decides on the run's queued changes
            (Prefect UI form or `resume_flow_run`); `review_timeout_seconds` and
            `on_review_timeout` (fail, keep_queued, reject) say what happens if nobody does.
        record_filter: the whole source is imported, then only the records it selects are
            classified, enriched, validated and distributed.
    """
    logger = get_run_logger()
    settings = get_settings()
    store_url = normalize_database_url(database_url) if database_url else settings.store_url
    batch_size = batch_size or settings.batch_size
    with session_scope(store_url) as session:
        org = get_or_create_organization(session, name=organization or settings.organization)
        if catalog.endswith((".yaml", ".yml")):
            schema = CatalogSchema.from_yaml(catalog)
        else:  # a catalogue already in the store (a supplier-portal upload names its own)
            schema = catalog_schema(get_catalog(session, organization=org.name, name=catalog))
        record_filter = bind_filter(record_filter, schema)
        stored = upsert_catalog(session, organization=org, schema=schema)
        catalog_id = stored.id
        if run_id is None:
            run_id = start_run(
                session,
                organization=org,
                catalog=stored,
                operation="onboard",
                params={"source": source, "catalog": catalog, **filter_params(record_filter)},
                flow_run_id=str(flow_run.id) if flow_run.id else None,
            ).id
        elif flow_run.id:
            session.get(Run, run_id).flow_run_id = str(flow_run.id)
    common = {"store_url": store_url, "catalog_id": catalog_id, "schema": schema}
    progress = announce_start(store_url=store_url, run_id=run_id)
    try:
        # blocks are loaded first: a wrong name fails the run before any work is done
        reader = _source(source, encoding=encoding)
        saved_targets = [load_destination(name) for name in destinations or []]
        ingest(
            **common,
            run_id=run_id,
            source=reader,
            batch_size=batch_size,
            column_overrides=column_overrides,
            reports_dir=str(settings.reports_dir),
            # a filtered run judges only its selection: bad rows outside it are held, not fatal
            halt_on_held=record_filter is None,
        )
        if taxonomy and schema.category_attribute is not None:
            classify_stored(
                **common,
                run_id=run_id,
                taxonomy=taxonomy,
                batch_size=batch_size,
                progress=progress,
                record_filter=record_filter,
            )
        enrich_stored(
            store_url=store_url,
            run_id=run_id,
            catalog_id=catalog_id,
            batch_size=batch_size,
            config=catalog_enrich_config(companies),
            progress=progress,
            record_filter=record_filter,
        )
        if schema.matching.enabled:
            # after enrichment (merges compare the filled-in values), before review and
            # validation (merged duplicates are not validated or published)
            progress.plan(1)
            dedupe(**common, run_id=run_id, record_filter=record_filter)
            progress.advance()
        if review:
            review_checkpoint(
                store_url=store_url,
                run_id=run_id,
                catalog=schema.name,
                timeout_seconds=review_timeout_seconds,
                on_timeout=on_review_timeout,
            )
        validation = validate(
            **common,
            run_id=run_id,
            batch_size=batch_size,
            reports_dir=str(settings.reports_dir),
            record_filter=record_filter,
            hold_invalid=True,
        )
        publish_validation_report(
            catalog=schema.name, markdown=validation["markdown"], success=validation["success"]
        )
        if not validation["success"]:
            logger.error("Validation failed; nothing distributed.\n%s", validation["markdown"])
            raise ValidationFailed(validation["report"], validation["markdown"])
        written = distribute(
            **common,
            targets=build_targets(
                catalog_name=schema.name,
                out=out,
                formats=formats or ["csv"],
                table=table,
                table_password_block=table_password_block,
            )
            + saved_targets,
            batch_size=batch_size,
            record_filter=record_filter,
        )
    except ValidationFailed as exc:
        close_stored_run(
            store_url,
            run_id,
            RunStatus.FAILED,
            error="validation failed",
            report_path=exc.report_path,
        )
        announce_end("failed", store_url=store_url, run_id=run_id)
        raise
    except Exception as exc:
        close_stored_run(store_url, run_id, RunStatus.FAILED, error=str(exc))
        announce_end("failed", store_url=store_url, run_id=run_id)
        raise
    summary = close_stored_run(
        store_url,
        run_id,
        RunStatus.COMPLETED,
        extra={"validation": {"success": True, "report": validation["report"]}, "outputs": written},
        report_path=validation["report"],
    )
    announce_end("completed", store_url=store_url, run_id=run_id, progress=progress)
    logger.info("onboard run %s completed: %s", run_id, summary)
    return summary


def _source(source: str, *, encoding: str) -> Source:
    """A saved source block for `block:<slug>/<name>`, else a file path or glob."""
    if source.startswith("block:"):
        return load_source(source.removeprefix("block:"))
    return FileSource(path=source, encoding=encoding)
