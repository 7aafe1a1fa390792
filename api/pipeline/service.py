"""The pipeline contract's work: ingest jobs (records stored, then classified), synchronous
classification and firmographics, and sync jobs that push a job's records to a destination.

Routes call these with the caller's organization; everything is scoped by it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.errors import ApiError, not_found
from api.jobs import FINISHED, JobCancelled, JobContext, create_job
from api.pipeline import records as api_records
from api.pipeline.schemas import (
    Classification,
    ClassifyRequest,
    CompanyIn,
    Enrichment,
    Firmographics,
    IngestRequest,
    SyncRequest,
)
from api.settings import ApiSettings
from api.usage import charge
from catalog.errors import InputError
from catalog.ingest import ingest_source
from catalog.models import Catalog, Organization, Record, Run
from catalog.repository import catalog_schema, upsert_catalog
from enrichment.config import EnrichConfig
from enrichment.engine import enrich_items
from enrichment.output_schema import OutputSchema
from taxonomy.assign import (
    cached_classifier,
    classify_records,
    classify_version,
    prepare_classifier,
    taxonomy_from_file,
)
from taxonomy.classifier import Classifier
from taxonomy.model import Taxonomy

EXAMPLE_TAXONOMY = Path(__file__).resolve().parents[2] / "examples" / "taxonomy.txt"
MAX_LISTED_ERRORS = 100
CLASSIFIER_TTL = 60.0
"""Seconds a catalogue's classifier is reused before its labels are looked at again."""


# -- jobs of this family -----------------------------------------------------------------------


def get_job(
    session: Session, *, org: Organization, job_id: int, operation: str | None = None
) -> Run:
    run = session.get(Run, job_id)
    if run is None or run.organization_id != org.id or (operation and run.operation != operation):
        raise not_found("job", job_id, code="JOB_NOT_FOUND")
    return run


# -- ingest -----------------------------------------------------------------------------------


def start_ingest(session: Session, *, org: Organization, request: IngestRequest) -> Run:
    """Create (or extend) the source's catalogue and queue an ingest job for the records."""
    name = api_records.catalog_name(request.source)
    stored = session.scalar(
        select(Catalog).where(Catalog.organization_id == org.id, Catalog.name == name)
    )
    known = api_records.known_keys(catalog_schema(stored)) if stored is not None else {}
    prepared = api_records.prepare(request.records, known=known)
    schema = api_records.api_schema(name, prepared.extra_attributes)
    catalog = upsert_catalog(session, organization=org, schema=schema)
    return create_job(
        session,
        organization=org,
        operation="ingest",
        catalog_id=catalog.id,
        total=len(request.records),
        params={"source": request.source, "records": prepared.rows},
    )


AfterStore = Callable[[JobContext, int, list[str], list[str]], list[int]]
"""Called with (job, catalogue id, created ids, updated ids) once records are stored; returns
the ids of follow-up jobs it started (auto-enrichment)."""


def ingest_work(settings: ApiSettings, *, after_store: AfterStore | None = None):
    """The ingest job: store the records (bad records fail alone, each with its problems),
    classify the stored ones into the taxonomy as scored changes, then hand them on
    (``after_store``)."""

    def work(ctx: JobContext) -> dict[str, Any]:
        rows: list[dict[str, Any]] = ctx.params["records"]
        positions = list(range(len(rows)))
        errors: list[dict[str, Any]] = []
        with ctx.session() as session:
            run = session.get(Run, ctx.run_id)
            catalog = session.get(Catalog, run.catalog_id)
            schema = catalog_schema(catalog)
            catalog_id = catalog.id
            existing = _existing_ids(session, catalog_id, [str(r["id"]) for r in rows])
        stored_ids: list[str] = []
        while positions:
            if ctx.cancelled():
                break
            source = api_records.RecordsSource(
                rows=[rows[i] for i in positions], positions=positions
            )
            try:
                with ctx.session() as session:
                    ingest_source(
                        session,
                        catalog_id=catalog_id,
                        schema=schema,
                        source=source,
                        batch_size=5000,
                        run_id=ctx.run_id,
                    )
                stored_ids = [str(rows[i]["id"]) for i in positions]
                break
            except InputError as exc:
                bad = {p.row for p in exc.problems if p.row is not None}
                if not bad:
                    raise
                for problem in exc.problems:
                    if len(errors) < MAX_LISTED_ERRORS and problem.row is not None:
                        errors.append(
                            {
                                "record": problem.row,
                                "id": str(rows[problem.row].get("id")),
                                "field": problem.column,
                                "message": problem.message,
                            }
                        )
                positions = [i for i in positions if i not in bad]
        ctx.progress(completed=len(stored_ids), failed=len(rows) - len(stored_ids))
        ctx.charge(stored_ids, operation="ingest")
        classified = classify_stored(ctx, settings=settings, catalog_id=catalog_id, ids=stored_ids)
        result: dict[str, Any] = {
            "errors": errors,
            "stored": len(stored_ids),
            "classified": classified,
        }
        if after_store is not None and stored_ids:
            created = [i for i in stored_ids if i not in existing]
            updated = [i for i in stored_ids if i in existing]
            followed = after_store(ctx, catalog_id, created, updated)
            if followed:
                result["enrichment_jobs"] = followed
        return result

    return work


def _existing_ids(session: Session, catalog_id: int, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), 5000):
        found.update(
            session.scalars(
                select(Record.external_id).where(
                    Record.catalog_id == catalog_id,
                    Record.external_id.in_(ids[start : start + 5000]),
                )
            )
        )
    return found


def classify_stored(
    ctx: JobContext, *, settings: ApiSettings, catalog_id: int, ids: list[str]
) -> int:
    """Classify the job's stored records (changes scored against the catalogue's thresholds)."""
    if not ids:
        return 0
    taxonomy = organization_taxonomy(settings)
    with ctx.session() as session:
        model = catalogue_classifier(session, settings=settings, catalog_id=catalog_id)
        schema = catalog_schema(session.get(Catalog, catalog_id))
        record_ids = list(
            session.scalars(
                select(Record.id).where(
                    Record.catalog_id == catalog_id, Record.external_id.in_(ids)
                )
            )
        )
    version = classify_version(schema, taxonomy)

    def handle(chunk: list[int]) -> None:
        with ctx.session() as session:
            classify_records(
                session,
                catalog_id=catalog_id,
                schema=schema,
                taxonomy=taxonomy,
                classifier=model,
                record_ids=chunk,
                run_id=ctx.run_id,
                version=version,
            )

    failures = ctx.for_each_chunk(record_ids, handle, size=2000, count=False)
    return len(record_ids) - len(failures)


# -- classify ----------------------------------------------------------------------------------


def organization_taxonomy(settings: ApiSettings) -> Taxonomy:
    """The taxonomy classification uses: the configured file, else the bundled example."""
    return taxonomy_from_file(settings.taxonomy or EXAMPLE_TAXONOMY)


@dataclass
class _Cached:
    classifier: Classifier
    expires: float


_classifiers: dict[tuple[str, int], _Cached] = {}
_classifiers_lock = threading.Lock()


def catalogue_classifier(session: Session, *, settings: ApiSettings, catalog_id: int) -> Classifier:
    """The catalogue's classifier (supervised once it has enough labelled records, lexical
    before), built by the taxonomy package and reused for `CLASSIFIER_TTL` seconds."""
    key = (settings.resolved_store_url, catalog_id)
    with _classifiers_lock:
        cached = _classifiers.get(key)
        if cached is not None and cached.expires > time.monotonic():
            return cached.classifier
    catalog = session.get(Catalog, catalog_id)
    path = prepare_classifier(
        session,
        catalog_id=catalog_id,
        schema=catalog_schema(catalog),
        taxonomy=organization_taxonomy(settings),
        models_dir=settings.resolved_home / "models",
    )
    classifier = cached_classifier(str(path))
    with _classifiers_lock:
        now = time.monotonic()
        for stale in [k for k, c in _classifiers.items() if c.expires <= now]:
            del _classifiers[stale]  # bounded by the catalogues used in the last minute
        _classifiers[key] = _Cached(classifier, now + CLASSIFIER_TTL)
    return classifier


def classify(
    session: Session, *, org: Organization, settings: ApiSettings, request: ClassifyRequest
) -> list[Classification]:
    """Classify the request's records with the job's catalogue classifier; one credit each."""
    job = get_job(session, org=org, job_id=request.job_id)
    if job.operation != "ingest" or job.catalog_id is None:
        raise ApiError(409, f"job {job.id} is a {job.operation} job; classify needs an ingest job")
    taxonomy = organization_taxonomy(settings)
    model = catalogue_classifier(session, settings=settings, catalog_id=job.catalog_id)
    texts = [
        " ".join(str(v) for v in (r.name, r.description) if v not in (None, "")).strip()
        for r in request.records
    ]
    predictions = model.predict(texts)
    out = []
    for record, prediction in zip(request.records, predictions, strict=True):
        node = taxonomy.get(prediction.node_id) if prediction.node_id else None
        out.append(
            Classification(
                id=str(record.id),
                category=node.path_text if node else None,
                category_id=node.id if node else None,
                confidence=round(float(prediction.confidence), 4),
                taxonomy_version=str(taxonomy.version),
                method=prediction.method,
            )
        )
    charge(
        session,
        organization_id=org.id,
        run_id=None,
        operation="classify",
        items=[f"job {job.id}: {c.id}" for c in out],
    )
    return out


# -- enrich ------------------------------------------------------------------------------------


FIRMOGRAPHICS = [
    {"name": "employee_range", "type": "string", "description": "Employee head-count band."},
    {"name": "annual_revenue", "type": "string", "description": "Annual revenue band (USD)."},
    {"name": "industry", "type": "string", "description": "Industry."},
]
"""The contract's `enriched` fields, as the output schema the enrichment engine fills."""


def enrich(
    session: Session, *, org: Organization, settings: ApiSettings, companies: list[CompanyIn]
) -> list[Enrichment]:
    """Firmographics from the configured reference table (domain first, then name), through
    the enrichment engine's reference provider. Without a table, or without a match, fields
    are null with confidence 0: nothing is invented. ``tech_stack`` stays empty: no configured
    source knows it. One credit per matched company."""
    inputs = [c.model_dump(exclude_none=True) for c in companies]
    config = EnrichConfig(
        providers=["reference"],
        web_search=False,
        learned=False,
        companies_path=str(settings.companies) if settings.companies else None,
    )
    options = config.build()
    try:
        results = enrich_items(inputs, OutputSchema.parse(FIRMOGRAPHICS), options)
    finally:
        options.close()
    out = []
    for given, result in zip(inputs, results, strict=True):
        if not result.values:
            out.append(
                Enrichment(input=given, enriched=Firmographics(), confidence=0.0, matched=False)
            )
            continue
        fields = list(result.values)
        out.append(
            Enrichment(
                input=given,
                enriched=Firmographics(**result.values, tech_stack=[]),
                confidence=round(max(result.confidence[f] for f in fields), 4),
                matched=True,
                source=result.sources[fields[0]][0],
                method=result.methods[fields[0]][0],
            )
        )
    charge(
        session,
        organization_id=org.id,
        run_id=None,
        operation="enrich",
        items=[str(e.source) for e in out if e.matched],
    )
    return out


# -- sync --------------------------------------------------------------------------------------


def start_sync(session: Session, *, org: Organization, request: SyncRequest) -> Run:
    job = get_job(session, org=org, job_id=request.job_id)
    if request.data is None and job.operation != "ingest":
        raise ApiError(
            409, f"job {job.id} is a {job.operation} job; give `data` or an ingest job_id"
        )
    return create_job(
        session,
        organization=org,
        operation="sync",
        catalog_id=job.catalog_id,
        total=len(request.data) if request.data is not None else len(job.params.get("records", [])),
        params={
            "job_id": job.id,
            "destination": request.destination,
            "format": request.format,
            "data": request.data,
        },
    )


def wait_for_job(ctx: JobContext, job_id: int, *, timeout: float = 600) -> None:
    """Block until the job the sync reads from has finished (its records are then stored)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with ctx.session() as session:
            if session.get(Run, job_id).status in FINISHED:
                return
        if ctx.cancelled():
            raise JobCancelled
        time.sleep(0.1)
    raise TimeoutError(f"job {job_id} did not finish within {timeout:.0f}s")


def job_rows(session: Session, *, job: Run) -> list[dict[str, Any]]:
    """The current values (source values plus applied changes) of the job's records."""
    ids = [str(r["id"]) for r in job.params.get("records", [])]
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        for external_id, values in session.execute(
            select(Record.external_id, Record.values).where(
                Record.catalog_id == job.catalog_id, Record.external_id.in_(chunk)
            )
        ):
            found[external_id] = {"id": external_id, **values}
    return [found[i] for i in dict.fromkeys(ids) if i in found]
