"""Records in the store: batched upserts by external id and batched reads by stage.

A record's identity is ``(catalogue, external_id)``; its ``content_hash`` covers the source
values only, so a re-import of unchanged rows is a no-op and an edited row is picked up again
by every stage (see ``StageMark``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import pandas as pd
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from catalog.bulk import in_ids, insert_rows, plain_rows, refresh_statistics, update_rows
from catalog.changes import insert_changes, source_update_rows
from catalog.filters import RecordFilter
from catalog.models import HeldRow, HeldRowStatus, Record, StageMark, utcnow

MERGED_INTO = "_merged_into"
"""Reserved value key: a record merged into another as a duplicate (set and undone by `dedupe`
changes). Such a record stays in the store, with its history, but is not published."""


def is_merged(values: dict[str, Any] | None) -> bool:
    """Whether a record's current values say it was merged into another record."""
    return values is not None and MERGED_INTO in values


@dataclass
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: UpsertCounts) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged


def clean_value(value: Any) -> Any:
    """JSON-safe python value: NaN/NA become None, numpy scalars become python ones."""
    kind = type(value)
    if kind is str or kind is int or kind is bool:  # most cells: nothing to clean
        return value
    if kind is float:
        return None if math.isnan(value) else value
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item") and not isinstance(value, list | dict | str):
        value = value.item()
        if isinstance(value, float) and math.isnan(value):
            return None
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def frame_to_dicts(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts of non-empty, JSON-safe values (empty fields are left out)."""
    columns = list(frame.columns)
    out: list[dict[str, Any]] = []
    append = out.append
    clean = clean_value
    for row in frame.itertuples(index=False, name=None):
        values = {}
        for column, value in zip(columns, row, strict=True):
            value = clean(value)
            if value is not None and value != "":
                values[column] = value
        append(values)
    return out


def upsert_records(
    session: Session,
    *,
    catalog_id: int,
    frame: pd.DataFrame,
    hashes: pd.Series,
    source: str,
    run_id: int | None = None,
) -> UpsertCounts:
    """Insert new records and update changed ones; unchanged rows are not touched.

    An update is logged as ``ingest`` changes (one per edited field), so a supplier's edit is
    audited and reversible like a model's.

    Values a model filled (fields the old source didn't carry and the new one doesn't either)
    survive a re-import: the supplier's file owns its columns, the pipeline owns the rest.
    """
    external_ids = [str(i) for i in frame.index]
    existing = {
        row.external_id: row
        for row in plain_rows(
            session,
            select(
                Record.id,
                Record.external_id,
                Record.content_hash,
                Record.source_values,
                Record.values,
            ).where(
                Record.catalog_id == catalog_id, in_ids(session, Record.external_id, external_ids)
            ),
        )
    }
    rows = frame_to_dicts(frame)
    now = utcnow()
    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    audit: list[tuple[int, dict[str, Any], dict[str, Any], str]] = []
    counts = UpsertCounts()
    for external_id, values, content_hash in zip(external_ids, rows, hashes, strict=True):
        old = existing.get(external_id)
        if old is None:
            # source and current values are one object: encoded once for both columns
            inserts.append(
                (catalog_id, external_id, values, values, content_hash, source, now, now)
            )
        elif old.content_hash != content_hash:
            derived = {
                field: value
                for field, value in (old.values or {}).items()
                if field not in old.source_values and field not in values
            }
            updates.append((old.id, values, {**values, **derived}, content_hash, source, now))
            audit.append((old.id, old.source_values, values, content_hash))
        else:
            counts.unchanged += 1
    table = Record.__table__
    if inserts:
        insert_rows(session, table, _RECORD_INSERT, inserts)
        counts.inserted = len(inserts)
    if updates:
        update_rows(session, table, "id", _RECORD_UPDATE, updates)
        counts.updated = len(updates)
        insert_changes(
            session,
            [
                row
                for record_id, old_values, new_values, content_hash in audit
                for row in source_update_rows(
                    catalog_id=catalog_id,
                    record_id=record_id,
                    old=old_values,
                    new=new_values,
                    basis=content_hash,
                    source=source,
                    run_id=run_id,
                )
            ],
        )
    return counts


_RECORD_INSERT = (
    "catalog_id",
    "external_id",
    "source_values",
    "values",
    "content_hash",
    "source",
    "created_at",
    "updated_at",
)
_RECORD_UPDATE = ("source_values", "values", "content_hash", "source", "updated_at")


def pending_record_ids(
    session: Session,
    *,
    catalog_id: int,
    stage: str,
    version: str,
    id_range: tuple[int, int] | None = None,
    record_filter: RecordFilter | None = None,
) -> list[int]:
    """Ids of records this stage has not processed at their current content and the stage's
    current ``version``, in id order (within ``id_range``, inclusive, when given: that is how
    a batch is named between tasks), narrowed by ``record_filter``.

    Without ``id_range`` this is a stage planning its run over the whole catalogue, once per
    run: the previous stage has just written millions of rows, so PostgreSQL's statistics are
    refreshed first (`refresh_statistics`) for the queries of this stage's batches."""
    if id_range is None:
        refresh_statistics(session)
    query = (
        select(Record.id)
        .outerjoin(StageMark, and_(StageMark.record_id == Record.id, StageMark.stage == stage))
        .where(
            Record.catalog_id == catalog_id,
            or_(
                StageMark.basis.is_(None),
                # the SQL twin of stage_basis(content_hash, version)
                StageMark.basis != Record.content_hash + f":{version}",
            ),
        )
        .order_by(Record.id)
    )
    if id_range is not None:
        query = query.where(Record.id.between(*id_range))
    return list(session.scalars(filtered(session, query, record_filter)))


def filtered(session: Session, query: Select, record_filter: RecordFilter | None) -> Select:
    """``query`` over ``records`` narrowed by ``record_filter`` (unchanged without one)."""
    if record_filter is None:
        return query
    return record_filter.apply(query, dialect=session.get_bind().dialect.name)


def id_ranges(ids: Sequence[int], size: int) -> list[tuple[int, int]]:
    """Split sorted ids into inclusive (first, last) ranges of at most ``size`` ids each."""
    return [(ids[i], ids[min(i + size, len(ids)) - 1]) for i in range(0, len(ids), size)]


@dataclass
class RecordBatch:
    """Records loaded for a stage: their current and source values plus what identifies them.

    The frames are built on first use: classify reads the source values as a frame, enrich
    works on the dicts, and building two DataFrames per batch that nobody reads cost enrich
    about a quarter of its load time."""

    values: dict[int, dict[str, Any]]
    external_ids: dict[int, str]
    hashes: dict[int, str]
    source_values: dict[int, dict[str, Any]] | None
    """None when the stage did not ask for them (`load_records(with_source=False)`)."""

    @cached_property
    def frame(self) -> pd.DataFrame:
        """Index = record id; columns = attribute names (current values)."""
        return _frame(self.values)

    @cached_property
    def source_frame(self) -> pd.DataFrame:
        """The same records' source values only: what models derive from, so a derived value
        is recomputed from the record's current content rather than kept from older content."""
        if self.source_values is None:
            raise ValueError("the batch was loaded without its source values")
        return _frame(self.source_values)


def _frame(by_record: dict[int, dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame.from_records(
        list(by_record.values()), index=pd.Index(list(by_record), name="record_id")
    )


def load_records(
    session: Session, *, record_ids: Sequence[int], with_source: bool = True
) -> RecordBatch:
    """The records' current values, identities and content hashes, in id order; their source
    values too unless `with_source` is False (a stage that works on current values only, such
    as enrich, then skips reading and decoding a second JSON document per record)."""
    columns = [Record.id, Record.external_id, Record.content_hash, Record.values]
    if with_source:
        columns.append(Record.source_values)
    rows = plain_rows(
        session,
        select(*columns).where(in_ids(session, Record.id, record_ids)).order_by(Record.id),
    ).all()
    # by column, as plain tuples (a Row's attribute access is a Python call per cell)
    by_column = (
        [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in columns]
    )
    ids, external_ids, hashes, values = by_column[:4]
    return RecordBatch(
        values=dict(zip(ids, values, strict=True)),
        external_ids=dict(zip(ids, external_ids, strict=True)),
        hashes=dict(zip(ids, hashes, strict=True)),
        source_values=dict(zip(ids, by_column[4], strict=True)) if with_source else None,
    )


def mark_stage(session: Session, *, stage: str, bases: dict[int, str], run_id: int | None) -> None:
    """Record that ``stage`` has processed these records at these bases (``stage_basis``)."""
    if not bases:
        return
    insert_rows(
        session,
        StageMark.__table__,
        ("record_id", "stage", "basis", "run_id"),
        [(rid, stage, basis, run_id) for rid, basis in bases.items()],
        conflict=("record_id", "stage"),
        update=("basis", "run_id"),
    )


def record_pages(
    session: Session, *, catalog_id: int, columns: Sequence[Any], page_size: int = 10_000
) -> Iterator[Sequence[Any]]:
    """The catalogue's records as rows of (`Record.id`, *columns), in id order, `page_size` at
    a time: keyset pagination, so memory stays flat in catalogue size and each page is one
    range scan of the primary key, however deep into the catalogue it is."""
    last_id = 0
    while True:
        rows = plain_rows(  # Core rows: the ORM's result machinery was a third of a page
            session,
            select(Record.id, *columns)
            .where(Record.catalog_id == catalog_id, Record.id > last_id)
            .order_by(Record.id)
            .limit(page_size),
        ).all()
        if not rows:
            return
        last_id = rows[-1][0]
        yield rows


def iter_current_values(
    session: Session,
    *,
    catalog_id: int,
    batch_size: int,
    record_filter: RecordFilter | None = None,
    include_merged: bool = False,
    include_quarantined: bool = True,
) -> Iterator[tuple[list[str], list[dict[str, Any]]]]:
    """Every (matching) record's current values, in id order, a batch at a time (keyset
    pagination, so memory stays flat in catalogue size). Records merged into another as
    duplicates are left out unless `include_merged`: the survivor stands for them. Records
    quarantined at validation (an open `validate` hold) are left out unless
    `include_quarantined`: what is published leaves them out.

    Paging through the whole catalogue comes after stages that wrote to it (or an ingest
    that loaded it), so PostgreSQL's statistics are refreshed first (`refresh_statistics`):
    with a planner that still thought the table small, each page was a sort on disk."""
    refresh_statistics(session, ("records", "held_rows"))
    last_id = 0
    while True:
        query = (
            select(Record.id, Record.external_id, Record.values)
            .where(Record.catalog_id == catalog_id, Record.id > last_id)
            .order_by(Record.id)
            .limit(batch_size)
        )
        if not include_quarantined:
            query = query.where(
                ~exists().where(
                    HeldRow.record_id == Record.id,
                    HeldRow.stage == "validate",
                    HeldRow.status == HeldRowStatus.HELD.value,
                )
            )
        rows = plain_rows(session, filtered(session, query, record_filter)).all()
        if not rows:
            return
        last_id = rows[-1][0]
        if not include_merged:
            rows = [row for row in rows if not is_merged(row[2])]
            if not rows:
                continue
        yield [external_id for _, external_id, _ in rows], [values for _, _, values in rows]


def count_records(session: Session, *, catalog_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(Record).where(Record.catalog_id == catalog_id)
        )
        or 0
    )


def get_record(session: Session, *, catalog_id: int, external_id: str) -> Record | None:
    return session.scalar(
        select(Record).where(Record.catalog_id == catalog_id, Record.external_id == external_id)
    )
