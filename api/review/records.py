"""Records for people: list and search with the record filter; one record with its history."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from api.review.catalogs import title_attribute
from api.review.changes import public_changes
from api.review.schemas import FieldHistory, RecordDetail, RecordSummary
from catalog.errors import InputError, NotFound
from catalog.filters import LIKE_ESCAPE, RecordFilter, glob_to_like
from catalog.models import Catalog, Change, ChangeStatus, Record
from catalog.schema import CatalogSchema

SEARCH_COUNT_LIMIT = 10_000
"""A text search counts its matches up to this many (the page says "10,000+")."""


def list_records(
    session: Session,
    *,
    catalog: Catalog,
    record_filter: RecordFilter | None = None,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
    exact_count: bool = True,
) -> tuple[list[RecordSummary], int]:
    """A page of the catalogue's records (id order) that match the filter and contain ``q`` in
    their external id or title (any case), with how many match in all (for a text search, at
    most `SEARCH_COUNT_LIMIT`). Without ``exact_count`` the count is only "this far, and one
    more if a next page exists" — a text search then reads no further than the page needs."""
    dialect = session.get_bind().dialect.name
    title = title_attribute(catalog)
    conditions = [Record.catalog_id == catalog.id]
    if record_filter is not None:
        schema = CatalogSchema.model_validate(catalog.schema)
        names = {a.name for a in schema.attributes}
        for part in ("equals", "one_of"):
            unknown = sorted(set(getattr(record_filter, part) or {}) - names)
            if unknown:
                raise InputError.single(
                    "filter",
                    f"{part}: no attribute {', '.join(map(repr, unknown[:5]))} in "
                    f"catalogue '{catalog.name}'",
                    column=part,
                )
        category = schema.category_attribute
        bound = record_filter.bound_to(category.name if category else None)
        conditions += bound.conditions(dialect=dialect)
    if q:
        pattern = "%" + glob_to_like(q) + "%"  # * and ? work as in the id filter
        matches = [Record.external_id.ilike(pattern, escape=LIKE_ESCAPE)]
        if title is not None:
            matches.append(Record.values[title].as_string().ilike(pattern, escape=LIKE_ESCAPE))
        conditions.append(or_(*matches))
    records = list(
        session.scalars(
            select(Record)
            .where(*conditions)
            .order_by(Record.id)
            .limit(limit + (0 if exact_count else 1))
            .offset(offset)
        )
    )
    if exact_count:
        counted = select(Record.id).where(*conditions)
        if q:  # a text search reads every record's title: count the first matches only
            counted = counted.limit(SEARCH_COUNT_LIMIT)
        count = session.scalar(select(func.count()).select_from(counted.subquery())) or 0
    else:
        count = offset + len(records)
        records = records[:limit]
    queued = _queued_counts(session, record_ids=[r.id for r in records])
    return [
        RecordSummary(
            id=r.external_id,
            title=_text(r.values.get(title)) if title else None,
            values=r.values,
            queued=queued.get(r.id, 0),
            updated_at=r.updated_at,
        )
        for r in records
    ], count


def record_named(session: Session, *, catalog: Catalog, external_id: str) -> Record:
    record = session.scalar(
        select(Record).where(Record.catalog_id == catalog.id, Record.external_id == external_id)
    )
    if record is None:
        raise NotFound(f"record '{external_id}' not found in catalogue '{catalog.name}'")
    return record


def record_detail(session: Session, *, catalog: Catalog, external_id: str) -> RecordDetail:
    """The record's current and source values, and every change to each field, oldest first."""
    record = record_named(session, catalog=catalog, external_id=external_id)
    changes = list(
        session.scalars(select(Change).where(Change.record_id == record.id).order_by(Change.id))
    )
    by_field: dict[str, list] = defaultdict(list)
    for change in public_changes(session, catalog=catalog, changes=changes):
        by_field[change.field].append(change)
    title = title_attribute(catalog)
    return RecordDetail(
        id=record.external_id,
        title=_text(record.values.get(title)) if title else None,
        values=record.values,
        source_values=record.source_values,
        source=record.source,
        created_at=record.created_at,
        updated_at=record.updated_at,
        fields=[
            FieldHistory(field=name, current=record.values.get(name), changes=history)
            for name, history in sorted(by_field.items())
        ],
    )


def _queued_counts(session: Session, *, record_ids: list[int]) -> dict[int, int]:
    if not record_ids:
        return {}
    rows = session.execute(
        select(Change.record_id, func.count())
        .where(
            Change.record_id.in_(record_ids),
            Change.status == ChangeStatus.QUEUED_FOR_REVIEW.value,
        )
        .group_by(Change.record_id)
    )
    return dict(rows.tuples().all())


def _text(value: object) -> str | None:
    return None if value is None else str(value)
