"""The set-based write path (`catalog.bulk`) on real SQLite and PostgreSQL: what it stores is
what the ORM stored, byte for byte; a change is recorded once however often it is written;
batches in one transaction don't see each other's staged rows; a failed batch leaves nothing."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa

from catalog.bulk import in_ids, insert_rows, update_rows
from catalog.changes import CHANGE_COLUMNS, PROPOSAL_KEY, insert_changes, write_values
from catalog.db import session_scope
from catalog.models import Change, ChangeStatus, Record, StageMark, utcnow
from catalog.records import iter_current_values, load_records, mark_stage
from catalog.repository import get_or_create_organization, upsert_catalog
from catalog.schema import CatalogSchema

SCHEMA = CatalogSchema.from_dict(
    {"name": "bulk", "id": "sku", "attributes": [{"name": "sku"}, {"name": "title"}]}
)


def _records(store_url: str, n: int) -> tuple[int, list[int]]:
    """A catalogue with `n` records written through the ORM; their catalogue and ids."""
    with session_scope(store_url) as session:
        org = get_or_create_organization(session, name="bulk")
        catalog_id = upsert_catalog(session, organization=org, schema=SCHEMA).id
        records = [
            Record(
                catalog_id=catalog_id,
                external_id=f"S{i}",
                source_values={"sku": f"S{i}"},
                values={"sku": f"S{i}"},
                content_hash=f"h{i}",
            )
            for i in range(n)
        ]
        session.add_all(records)
        session.flush()
        return catalog_id, [r.id for r in records]


def _change(catalog_id: int, record_id: int, **overrides: object) -> dict[str, object]:
    now = utcnow()
    row: dict[str, object] = {
        "catalog_id": catalog_id,
        "record_id": record_id,
        "field": "title",
        "old_value": None,
        "new_value": {"text": "Bohrmaschine 18 V – 电钻", 7: [True, None, 0.1], "big": 2**70},
        "confidence": 0.95,
        "status": "applied",
        "operation": "extract",
        "basis": f"h{record_id}:v1",
        "run_id": None,
        "provider": "extract",
        "model": None,
        "method": "title-unit-match",
        "sources": ["record:title"],
        "explanation": "found '18 V' in the title",
        "reviewer": None,
        "created_at": now,
        "decided_at": now,
    }
    row.update(overrides)
    return row


def _raw(store_url: str, table: str, columns: str, where: str) -> list[tuple]:
    """Cells as the database holds them: JSON as text (and its SQLite storage class), so an
    encoding difference between two write paths shows."""
    postgres = store_url.startswith("postgresql")
    cells = []
    for column in columns.split(", "):
        quoted = f'"{column}"'
        cells.append(f"{quoted}::text" if postgres else f"{quoted}, typeof({quoted})")
    with sa.create_engine(store_url).connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                sa.text(f"SELECT {', '.join(cells)} FROM {table} WHERE {where}")
            )
        ]


def test_bulk_rows_are_stored_as_the_orm_stores_them(store_url: str) -> None:
    catalog_id, (orm_id, bulk_id) = _records(store_url, 2)
    now = utcnow()
    with session_scope(store_url) as session:
        session.add(Change(**_change(catalog_id, orm_id, created_at=now, decided_at=None)))
        insert_changes(session, [_change(catalog_id, bulk_id, created_at=now, decided_at=None)])
        orm_record = session.get(Record, orm_id)
        orm_record.values = {"sku": "S0", "voltage": np.float64(18.0), "n": np.int64(2)}
        orm_record.updated_at = now
        session.flush()
        write_values(session, {bulk_id: {"sku": "S1", "voltage": np.float64(18.0), "n": 2}})
    columns = (
        "field, old_value, new_value, confidence, status, operation, provider, model, method, "
        "sources, explanation, reviewer, created_at, decided_at"
    )
    orm, bulk = (_raw(store_url, "changes", columns, f"record_id = {i}") for i in (orm_id, bulk_id))
    assert len(orm) == len(bulk) == 1
    assert orm == bulk
    orm_values, bulk_values = (
        _raw(store_url, "records", "values", f"id = {i}")[0] for i in (orm_id, bulk_id)
    )
    assert orm_values == tuple(v.replace('"S1"', '"S0"') for v in bulk_values)
    with session_scope(store_url) as session:
        change = session.scalar(sa.select(Change).where(Change.record_id == bulk_id))
        assert change.old_value is None
        assert change.new_value == {
            "text": "Bohrmaschine 18 V – 电钻",
            "7": [True, None, 0.1],
            "big": 2**70,
        }
        assert change.created_at is not None and change.decided_at is None


def test_a_change_is_recorded_once_however_often_it_is_written(store_url: str) -> None:
    catalog_id, ids = _records(store_url, 3)
    first = [_change(catalog_id, rid) for rid in ids[:2]]
    with session_scope(store_url) as session:
        insert_changes(session, first)
    with session_scope(store_url) as session:  # a re-run: same keys, other values, one new
        again = [_change(catalog_id, rid, status="dropped", confidence=0.1) for rid in ids]
        insert_changes(session, again)
        insert_changes(session, again)  # twice in one transaction
    with session_scope(store_url) as session:
        changes = session.scalars(select_changes()).all()
    assert [(c.record_id, c.status) for c in changes] == [
        (ids[0], "applied"),  # kept as first recorded
        (ids[1], "applied"),
        (ids[2], "dropped"),
    ]


def select_changes() -> sa.Select:
    return sa.select(Change).order_by(Change.record_id)


def test_batches_in_one_transaction_do_not_see_each_others_rows(store_url: str) -> None:
    catalog_id, ids = _records(store_url, 6)
    table = Change.__table__
    with session_scope(store_url) as session:
        for batch in (ids[:2], ids[2:4], ids[4:]):
            rows = [tuple(_change(catalog_id, rid).get(c) for c in CHANGE_COLUMNS) for rid in batch]
            insert_rows(session, table, CHANGE_COLUMNS, rows, conflict=PROPOSAL_KEY)
        for value, batch in (("a", ids[:3]), ("b", ids[3:])):
            update_rows(session, table, "record_id", ("explanation",), [(r, value) for r in batch])
    with session_scope(store_url) as session:
        changes = session.scalars(select_changes()).all()
    assert [c.record_id for c in changes] == ids
    assert [c.explanation for c in changes] == ["a"] * 3 + ["b"] * 3


def test_a_failed_batch_leaves_nothing_and_the_next_one_works(store_url: str) -> None:
    catalog_id, ids = _records(store_url, 2)
    row = (catalog_id, "S0", "{}", "{}", "h", "f", utcnow(), utcnow())  # S0 exists
    columns = (
        "catalog_id",
        "external_id",
        "source_values",
        "values",
        "content_hash",
        "source",
        "created_at",
        "updated_at",
    )
    fresh = (catalog_id, "S9", {"sku": "S9"}, {"sku": "S9"}, "h9", "f", utcnow(), utcnow())
    with pytest.raises(sa.exc.IntegrityError), session_scope(store_url) as session:
        insert_rows(session, Record.__table__, columns, [fresh, row])
    with session_scope(store_url) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Record)) == 2
        insert_rows(session, Record.__table__, columns, [fresh])
    with session_scope(store_url) as session:
        record = session.scalar(sa.select(Record).where(Record.external_id == "S9"))
        assert record.values == record.source_values == {"sku": "S9"}


def test_stage_marks_are_replaced_not_duplicated(store_url: str) -> None:
    _, ids = _records(store_url, 3)
    with session_scope(store_url) as session:
        mark_stage(session, stage="enrich", bases={ids[0]: "h0:v1", ids[1]: "h1:v1"}, run_id=None)
    with session_scope(store_url) as session:
        mark_stage(session, stage="enrich", bases={ids[1]: "h1:v2", ids[2]: "h2:v2"}, run_id=None)
        mark_stage(session, stage="classify", bases={ids[0]: "h0:c"}, run_id=None)
    with session_scope(store_url) as session:
        marks = session.execute(
            sa.select(StageMark.record_id, StageMark.stage, StageMark.basis).order_by(
                StageMark.stage, StageMark.record_id
            )
        ).all()
    assert [tuple(m) for m in marks] == [
        (ids[0], "classify", "h0:c"),
        (ids[0], "enrich", "h0:v1"),
        (ids[1], "enrich", "h1:v2"),
        (ids[2], "enrich", "h2:v2"),
    ]


def test_id_lists_of_any_length_select_exactly_those_rows(store_url: str) -> None:
    _, ids = _records(store_url, 50)
    wanted = ids[::7] + list(range(10**6, 10**6 + 20000))  # 20k ids, most of them absent
    with session_scope(store_url) as session:
        found = session.scalars(sa.select(Record.id).where(in_ids(session, Record.id, wanted)))
        assert sorted(found) == ids[::7]


def test_scalar_and_shared_cells_are_stored_and_read_as_the_orm_does(store_url: str) -> None:
    """Every kind of value a change's cell holds, written by `insert_changes` (one column at a
    time, a container shared by two cells encoded once) and by the ORM, stored alike and read
    back alike (SQLite keeps a JSON number as a number: it still reads as that number)."""
    shared = {"v": [1, "a"]}
    values = [
        "plain",
        "",
        7,
        -3.25,
        float("nan"),
        True,
        2**70,
        np.float64(1.5),
        np.int64(4),
        ChangeStatus.APPLIED,
        None,
        ["record:title"],
        shared,
    ]
    catalog_id, ids = _records(store_url, 2 * len(values))
    orm_ids, bulk_ids = ids[: len(values)], ids[len(values) :]
    now = utcnow()
    with session_scope(store_url) as session:
        for record_id, value in zip(orm_ids, values, strict=True):
            session.add(Change(**_change(catalog_id, record_id, old_value=value, new_value=value)))
        session.flush()
        insert_changes(
            session,
            [
                _change(catalog_id, record_id, old_value=value, new_value=value, created_at=now)
                for record_id, value in zip(bulk_ids, values, strict=True)
            ],
        )
    columns = "old_value, new_value"
    for orm_id, bulk_id in zip(orm_ids, bulk_ids, strict=True):
        assert _raw(store_url, "changes", columns, f"record_id = {orm_id}") == _raw(
            store_url, "changes", columns, f"record_id = {bulk_id}"
        )
    with session_scope(store_url) as session:
        query = sa.select(Change.record_id, Change.new_value).where(Change.catalog_id == catalog_id)
        read = dict(session.execute(query).tuples().all())
    expected = [None if v != v else v for v in values]  # NaN is stored as null
    assert [read[i] for i in orm_ids] == [read[i] for i in bulk_ids] == expected


def test_tuples_that_compare_equal_but_encode_differently_are_each_stored_as_given(
    store_url: str,
) -> None:
    """A batch's tuples of strings are encoded once per content; `(1,)`, `(1.0,)` and
    `(True,)` are equal as dict keys but not as JSON, so each is stored as it is."""
    values = [("record:title",), ("record:" + "title",), (1,), (1.0,), (True,), ("1",), ()]
    catalog_id, ids = _records(store_url, len(values))
    with session_scope(store_url) as session:
        insert_changes(
            session,
            [
                _change(catalog_id, record_id, sources=value)
                for record_id, value in zip(ids, values, strict=True)
            ],
        )
    with session_scope(store_url) as session:
        query = sa.select(Change.record_id, Change.sources).where(Change.catalog_id == catalog_id)
        read = dict(session.execute(query).tuples().all())
    stored = [read[i] for i in ids]
    assert stored == [["record:title"], ["record:title"], [1], [1.0], [True], ["1"], []]
    assert [type(v[0]) for v in stored[2:5]] == [int, float, bool]


def test_plain_row_reads_see_the_sessions_pending_writes(store_url: str) -> None:
    """`load_records` and `iter_current_values` read through Core, not the ORM; they still see
    what the session has not flushed yet, as ``session.execute`` would."""
    catalog_id, ids = _records(store_url, 2)
    with session_scope(store_url) as session:
        record = session.get(Record, ids[0])
        record.values = {"sku": "S0", "title": "changed, not flushed"}
        session.add(
            Record(
                catalog_id=catalog_id,
                external_id="NEW",
                source_values={"sku": "NEW"},
                values={"sku": "NEW"},
                content_hash="hn",
            )
        )
        batch = load_records(session, record_ids=ids)
        assert batch.values[ids[0]]["title"] == "changed, not flushed"
        streamed = [
            pair
            for external_ids, rows in iter_current_values(
                session, catalog_id=catalog_id, batch_size=1
            )
            for pair in zip(external_ids, rows, strict=True)
        ]
    assert [e for e, _ in streamed] == ["S0", "S1", "NEW"]
    assert streamed[0][1]["title"] == "changed, not flushed"
