"""The numbers behind the Analyse page, computed in SQL where the store is read.

Five views of a catalogue's health: how complete each attribute is, how confident the models
are per field (and what became of their proposals), how well confidence predicted a person's
verdict (the reliability curve, from review decisions), how the review queue grew and shrank,
and which validation expectations failed in the latest validation. Every query is one
aggregate over the catalogue's rows, so the report costs the same few scans at 100k records as
at 100.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Integer, and_, case, cast, func, or_, select, text
from sqlalchemy.orm import Session

from catalog.models import Catalog, Change, ChangeStatus, Record, Run
from catalog.schema import CatalogSchema

MODEL_OPERATIONS_EXCLUDED = ("ingest", "rollback", "conflict")
"""Operations whose changes are not a model's guess (a supplier's edit, a person's undo or
choice): they carry confidence 1.0 and would only flatten the confidence views."""
HISTOGRAM_BINS = 20
RELIABILITY_BINS = 10
MAX_REPORT_BYTES = 20 * 1024 * 1024


class AttributeCompleteness(BaseModel):
    attribute: str
    filled: int
    records: int
    share: float = Field(description="Filled records / records, 0–1.")
    filled_by: str = Field(description="`source` (the supplier's file) or the model that fills it.")


class ConfidenceBin(BaseModel):
    field: str
    lower: float
    upper: float
    status: str
    count: int


class ReliabilityBin(BaseModel):
    operation: str
    lower: float
    upper: float
    decided: int
    approved: int
    mean_confidence: float
    approval_rate: float = Field(description="Approved / decided: how often a person agreed.")


class QueuePoint(BaseModel):
    at: datetime
    queued: int = Field(description="Changes waiting for review at the end of this interval.")


class ExpectationOutcome(BaseModel):
    name: str
    attribute: str | None
    rule: str
    blocking: bool
    success: bool
    failing_rows: int


class ValidationSummary(BaseModel):
    run_id: int
    finished_at: datetime | None
    success: bool
    records: int
    expectations: list[ExpectationOutcome]


class QualityReport(BaseModel):
    """A catalogue's data-quality report (what the Analyse page and the weekly flow show)."""

    catalog: str
    generated_at: datetime
    records: int
    changes_by_status: dict[str, int]
    open_conflicts: int
    thresholds: dict[str, float]
    completeness: list[AttributeCompleteness]
    confidence: list[ConfidenceBin]
    reliability: list[ReliabilityBin]
    queue: list[QueuePoint]
    queue_interval: str = Field(description="`hour` or `day`: the width of a queue point.")
    validation: ValidationSummary | None


def quality_report(
    session: Session, *, catalog: Catalog, validation: tuple[int, str] | None = None
) -> QualityReport:
    """Compute the report for ``catalog`` as the store holds it now (reads only).

    Args:
        validation: (run id, report path) of a validation to show instead of the latest
            stored one — the quality-report flow passes its own, not yet recorded on its run.
    """
    schema = CatalogSchema.model_validate(catalog.schema)
    dialect = session.get_bind().dialect.name
    records = session.scalar(select(func.count()).where(Record.catalog_id == catalog.id)) or 0
    by_status = dict(
        session.execute(
            select(Change.status, func.count())
            .where(Change.catalog_id == catalog.id)
            .group_by(Change.status)
        )
        .tuples()
        .all()
    )
    queue, interval = queue_over_time(session, catalog_id=catalog.id, dialect=dialect)
    return QualityReport(
        catalog=catalog.name,
        generated_at=datetime.now(UTC),
        records=records,
        changes_by_status=by_status,
        open_conflicts=_open_conflicts(session, catalog_id=catalog.id),
        thresholds={"auto_apply": catalog.auto_apply, "reject": catalog.reject},
        completeness=completeness(
            session, catalog_id=catalog.id, schema=schema, records=records, dialect=dialect
        ),
        confidence=confidence_histogram(session, catalog_id=catalog.id, dialect=dialect),
        reliability=reliability_curve(session, catalog_id=catalog.id, dialect=dialect),
        queue=queue,
        queue_interval=interval,
        validation=(
            summarise_validation(*validation, finished_at=datetime.now(UTC))
            if validation is not None
            else latest_validation(session, catalog_id=catalog.id)
        ),
    )


_cache: OrderedDict[tuple[str, int], tuple[tuple[Any, ...], QualityReport]] = OrderedDict()
_cache_lock = threading.Lock()
CACHE_SIZE = 32


def cached_quality_report(session: Session, *, catalog: Catalog) -> QualityReport:
    """`quality_report`, recomputed only when the catalogue changed since the last one.

    The report scans every record and change (seconds at 100k records on SQLite); whether
    anything changed costs a few indexed look-ups: the newest record edit, change and decision,
    the open conflicts, the latest run, and the hour (the queue chart grows by the hour). So
    the page is always as fresh as the store, and re-opening it is cheap.
    """
    key = (str(session.get_bind().engine.url), catalog.id)
    stamp = fingerprint(session, catalog_id=catalog.id)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] == stamp:
            _cache.move_to_end(key)
            return hit[1]
    report = quality_report(session, catalog=catalog)
    with _cache_lock:
        _cache[key] = (stamp, report)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return report


def fingerprint(session: Session, *, catalog_id: int) -> tuple[Any, ...]:
    """What changes whenever the report would: one indexed look-up each (one aggregate per
    query, so SQLite answers each from its index)."""

    def one(query: Any) -> Any:
        return session.scalar(query)

    return (
        one(select(func.max(Record.id)).where(Record.catalog_id == catalog_id)),
        str(one(select(func.max(Record.updated_at)).where(Record.catalog_id == catalog_id))),
        one(select(func.max(Change.id)).where(Change.catalog_id == catalog_id)),
        str(one(select(func.max(Change.decided_at)).where(Change.catalog_id == catalog_id))),
        one(select(func.max(Run.id)).where(Run.catalog_id == catalog_id)),
        _open_conflicts(session, catalog_id=catalog_id),
        datetime.now(UTC).strftime("%Y-%m-%d %H"),
    )


def completeness(
    session: Session, *, catalog_id: int, schema: CatalogSchema, records: int, dialect: str
) -> list[AttributeCompleteness]:
    """Per schema attribute, how many records hold a value (not null, not an empty text).

    One pass over each record's JSON (``json_each`` / ``jsonb_each``) rather than one
    extraction per attribute per row: the JSON is parsed once per record.
    """
    if dialect == "postgresql":
        query = text(
            "SELECT e.key, count(*) FROM records r, jsonb_each(r.values) e "
            "WHERE r.catalog_id = :catalog AND jsonb_typeof(e.value) <> 'null' "
            "AND e.value <> '\"\"'::jsonb GROUP BY e.key"
        )
    else:
        query = text(
            'SELECT e.key, count(*) FROM records r, json_each(r."values") e '
            "WHERE r.catalog_id = :catalog AND e.type <> 'null' "
            "AND NOT (e.type = 'text' AND e.value = '') GROUP BY e.key"
        )
    filled = dict(session.execute(query, {"catalog": catalog_id}).tuples().all())
    out = []
    for attr in schema.attributes:
        count = int(filled.get(attr.name, 0))
        out.append(
            AttributeCompleteness(
                attribute=attr.name,
                filled=count,
                records=records,
                share=count / records if records else 0.0,
                filled_by=attr.derive or "source",
            )
        )
    return out


def confidence_histogram(
    session: Session, *, catalog_id: int, dialect: str, bins: int = HISTOGRAM_BINS
) -> list[ConfidenceBin]:
    """Models' proposals per field, by confidence bin and by what became of them."""
    index = _bin_index(Change.confidence, bins, dialect)
    rows = session.execute(
        select(Change.field, index, Change.status, func.count())
        .where(
            Change.catalog_id == catalog_id,
            Change.operation.not_in(MODEL_OPERATIONS_EXCLUDED),
        )
        .group_by(Change.field, index, Change.status)
    ).all()
    return [
        ConfidenceBin(
            field=field,
            lower=min(int(b), bins - 1) / bins,
            upper=(min(int(b), bins - 1) + 1) / bins,
            status=status,
            count=count,
        )
        for field, b, status, count in rows
    ]


def _reviewed() -> ColumnElement[bool]:
    """Changes a person decided on in the review queue (a rolled-back change that a reviewer
    had approved still counts as approved: that was the decision)."""
    return and_(
        Change.reviewer.is_not(None),
        Change.operation.not_in(MODEL_OPERATIONS_EXCLUDED),
        Change.status.in_(
            [
                ChangeStatus.APPROVED.value,
                ChangeStatus.REJECTED.value,
                ChangeStatus.ROLLED_BACK.value,
            ]
        ),
    )


def reliability_curve(
    session: Session, *, catalog_id: int, dialect: str, bins: int = RELIABILITY_BINS
) -> list[ReliabilityBin]:
    """For each operation and confidence bin, how often a reviewer approved: a calibrated
    model's points lie on the diagonal (changes at 0.7 approved about 7 times in 10)."""
    index = _bin_index(Change.confidence, bins, dialect)
    approved = func.sum(case((Change.status != ChangeStatus.REJECTED.value, 1), else_=0))
    rows = session.execute(
        select(Change.operation, index, func.count(), approved, func.avg(Change.confidence))
        .where(Change.catalog_id == catalog_id, _reviewed())
        .group_by(Change.operation, index)
        .order_by(Change.operation, index)
    ).all()
    return [
        ReliabilityBin(
            operation=operation,
            lower=min(int(b), bins - 1) / bins,
            upper=(min(int(b), bins - 1) + 1) / bins,
            decided=decided,
            approved=int(n_approved or 0),
            mean_confidence=float(mean),
            approval_rate=int(n_approved or 0) / decided,
        )
        for operation, b, decided, n_approved, mean in rows
    ]


def queue_over_time(
    session: Session, *, catalog_id: int, dialect: str
) -> tuple[list[QueuePoint], str]:
    """The review queue's size at the end of each hour (or day, for spans over three days),
    from when changes entered it (created) and left it (decided, superseded)."""
    passed_queue = and_(
        Change.catalog_id == catalog_id,
        Change.operation.not_in(MODEL_OPERATIONS_EXCLUDED),
        or_(
            Change.status.in_(
                [ChangeStatus.QUEUED_FOR_REVIEW.value, ChangeStatus.SUPERSEDED.value]
            ),
            _reviewed(),
        ),
    )
    first = session.scalar(select(func.min(Change.created_at)).where(passed_queue))
    if first is None:
        return [], "hour"
    first = _aware(first)
    now = datetime.now(UTC)
    interval = "hour" if now - first <= timedelta(days=3) else "day"
    entered = _per_bucket(session, Change.created_at, passed_queue, interval, dialect)
    left = _per_bucket(
        session,
        Change.decided_at,
        and_(passed_queue, Change.decided_at.is_not(None)),
        interval,
        dialect,
    )
    step = timedelta(hours=1) if interval == "hour" else timedelta(days=1)
    at = _floor(first, interval)
    size = 0
    points = [QueuePoint(at=at - step, queued=0)]  # empty before the first change arrived
    while at <= now:
        key = _bucket_key(at, interval)
        size += entered.get(key, 0) - left.get(key, 0)
        points.append(QueuePoint(at=at, queued=max(size, 0)))
        at += step
    return points[-24 * 31 :], interval


def latest_validation(session: Session, *, catalog_id: int) -> ValidationSummary | None:
    """The latest run of this catalogue that saved a validation report, summarised."""
    runs = session.execute(
        select(Run.id, Run.finished_at, Run.report_path)
        .where(Run.catalog_id == catalog_id, Run.report_path.is_not(None))
        .order_by(Run.id.desc())
        .limit(5)
    ).all()
    for run_id, finished_at, path in runs:
        summary = summarise_validation(run_id, path, finished_at=finished_at)
        if summary is not None:
            return summary
    return None


def summarise_validation(
    run_id: int, path: str | None, *, finished_at: datetime | None
) -> ValidationSummary | None:
    """A saved validation report, per expectation (None when the file cannot be read)."""
    report = read_validation_report(path)
    if report is None:
        return None
    return ValidationSummary(
        run_id=run_id,
        finished_at=finished_at,
        success=bool(report.get("success")),
        records=int(report.get("records") or 0),
        expectations=[
            ExpectationOutcome(
                name=str(r.get("name")),
                attribute=r.get("attribute"),
                rule=str(r.get("rule") or ""),
                blocking=bool(r.get("blocking")),
                success=bool(r.get("success")),
                failing_rows=int(r.get("unexpected_count") or 0),
            )
            for r in report.get("results") or []
        ],
    )


def read_validation_report(path: str | None) -> dict[str, Any] | None:
    """A run's saved validation report (the JSON beside the Markdown), or None when the file
    is gone, not JSON, or implausibly large (it is read whole)."""
    if not path:
        return None
    file = Path(path)
    if file.suffix != ".json":
        file = file.with_suffix(".json")
    try:
        if not file.is_file() or file.stat().st_size > MAX_REPORT_BYTES:
            return None
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _open_conflicts(session: Session, *, catalog_id: int) -> int:
    table = Record.metadata.tables.get("enrichment_conflicts")
    if table is None:
        return 0
    return (
        session.scalar(
            select(func.count())
            .select_from(table)
            .where(table.c.catalog_id == catalog_id, table.c.status == "open")
        )
        or 0
    )


def _bin_index(column: Any, bins: int, dialect: str) -> ColumnElement[Any]:
    """``floor(column * bins)`` on both stores (PostgreSQL's integer cast rounds; SQLite's
    truncates, and its ``floor`` is not always compiled in)."""
    scaled = column * bins
    if dialect == "postgresql":
        return func.floor(scaled).label("bin")
    return cast(scaled, Integer).label("bin")


def _per_bucket(
    session: Session, column: Any, where: ColumnElement[bool], interval: str, dialect: str
) -> dict[str, int]:
    bucket = _bucket_sql(column, interval, dialect)
    rows = session.execute(select(bucket, func.count()).where(where).group_by(bucket))
    return {str(key): count for key, count in rows.tuples() if key is not None}


def _bucket_sql(column: Any, interval: str, dialect: str) -> ColumnElement[str]:
    """The hour/day a timestamp falls in as text (``2026-11-26 08`` / ``2026-11-26``), UTC."""
    if dialect == "postgresql":
        pattern = "YYYY-MM-DD HH24" if interval == "hour" else "YYYY-MM-DD"
        return func.to_char(func.timezone("UTC", column), pattern).label("bucket")
    # SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC.
    return func.substr(column, 1, 13 if interval == "hour" else 10).label("bucket")


def _bucket_key(at: datetime, interval: str) -> str:
    return at.strftime("%Y-%m-%d %H" if interval == "hour" else "%Y-%m-%d")


def _floor(at: datetime, interval: str) -> datetime:
    at = at.replace(minute=0, second=0, microsecond=0)
    return at if interval == "hour" else at.replace(hour=0)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


__all__ = [
    "AttributeCompleteness",
    "ConfidenceBin",
    "QualityReport",
    "QueuePoint",
    "ReliabilityBin",
    "ValidationSummary",
    "quality_report",
]
