"""The store on real SQLite and PostgreSQL: migrations, upserts, changes, review, rollback."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from catalog.changes import (
    ChangeFilter,
    Proposal,
    StaleChange,
    approve,
    record_changes,
    reject,
    review_queue,
    rollback_field,
    stage_basis,
    status_counts,
)
from catalog.db import get_engine, session_scope
from catalog.models import Change, Record
from catalog.records import load_records, mark_stage, pending_record_ids, upsert_records
from catalog.repository import get_or_create_organization, upsert_catalog
from catalog.schema import CatalogSchema

SCHEMA = CatalogSchema.from_dict(
    {
        "name": "tools",
        "id": "sku",
        "text": ["title"],
        "thresholds": {"auto_apply": 0.9, "reject": 0.5},
        "attributes": [
            {"name": "sku", "required": True},
            {"name": "title", "required": True},
            {"name": "voltage", "type": "number", "unit": "V", "derive": "extract"},
            {
                "name": "colour",
                "type": "enum",
                "enum": ["red", "blue"],
                "derive": "extract",
                "auto_apply": 0.8,
            },
        ],
    }
)


def _frame(rows: dict[str, str]) -> tuple[pd.DataFrame, pd.Series]:
    frame = pd.DataFrame({"sku": list(rows), "title": list(rows.values())}, index=list(rows))
    hashes = pd.Series([f"h-{sku}-{title}" for sku, title in rows.items()], index=frame.index)
    return frame, hashes


def _catalog(session) -> int:
    org = get_or_create_organization(session, name="acme")
    return upsert_catalog(session, organization=org, schema=SCHEMA).id


MODEL_MODULES = [
    "catalog.models",
    "api.models",
    "api.datasets.models",
    "api.enrich_jobs.models",
    "enrichment.models",
    "catalog.source_cursors",
    "catalog.webhooks.models",
]


def test_migrations_create_every_table_the_models_declare(store_url: str) -> None:
    import importlib

    from catalog.models import Base

    for module in MODEL_MODULES:
        importlib.import_module(module)
    tables = set(sa.inspect(get_engine(store_url)).get_table_names())
    assert set(Base.metadata.tables) | {"alembic_version"} == tables


def test_migration_history_is_one_line() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from catalog.db import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_upsert_is_idempotent_and_detects_edits(store_url: str) -> None:
    with session_scope(store_url) as session:
        catalog_id = _catalog(session)
        frame, hashes = _frame({"A1": "Drill 18V", "A2": "Saw 230V"})
        first = upsert_records(
            session, catalog_id=catalog_id, frame=frame, hashes=hashes, source="f.csv"
        )
        again = upsert_records(
            session, catalog_id=catalog_id, frame=frame, hashes=hashes, source="f.csv"
        )
        edited, edited_hashes = _frame({"A1": "Drill 20V", "A2": "Saw 230V"})
        third = upsert_records(
            session, catalog_id=catalog_id, frame=edited, hashes=edited_hashes, source="f.csv"
        )
        stored = session.scalar(sa.select(Record).where(Record.external_id == "A1"))
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    assert (third.inserted, third.updated, third.unchanged) == (0, 1, 1)
    assert stored.values["title"] == "Drill 20V"


def test_a_batch_loaded_without_source_values_has_the_rest_and_says_what_it_lacks(
    store_url: str,
) -> None:
    with session_scope(store_url) as session:
        catalog_id = _catalog(session)
        frame, hashes = _frame({"A1": "Drill 18V", "A2": "Saw 230V"})
        upsert_records(session, catalog_id=catalog_id, frame=frame, hashes=hashes, source="f")
        ids = pending_record_ids(session, catalog_id=catalog_id, stage="enrich", version="v1")
        full = load_records(session, record_ids=ids)
        lean = load_records(session, record_ids=ids, with_source=False)
    assert (lean.values, lean.external_ids, lean.hashes) == (
        full.values,
        full.external_ids,
        full.hashes,
    )
    assert lean.source_values is None and full.source_values
    with pytest.raises(ValueError, match="without its source values"):
        lean.source_frame  # noqa: B018 (the property is the call under test)


def test_changes_are_scored_applied_queued_or_dropped_once(store_url: str) -> None:
    with session_scope(store_url) as session:
        catalog_id = _catalog(session)
        frame, hashes = _frame({"A1": "Drill 18V", "A2": "Saw 230V", "A3": "Fan"})
        upsert_records(session, catalog_id=catalog_id, frame=frame, hashes=hashes, source="f")
        ids = pending_record_ids(session, catalog_id=catalog_id, stage="enrich", version="v1")
        batch = load_records(session, record_ids=ids)
        bases = {rid: stage_basis(h, "v1") for rid, h in batch.hashes.items()}
        a1, a2, a3 = ids
        proposals = [
            Proposal(a1, "voltage", 18.0, 0.95, "extract"),  # applied
            Proposal(a2, "voltage", 230.0, 0.7, "extract"),  # review
            Proposal(a3, "voltage", 12.0, 0.2, "extract"),  # dropped
            Proposal(a3, "colour", "red", 0.85, "extract"),  # applied (attribute override 0.8)
        ]
        passes = [
            record_changes(
                session,
                catalog_id=catalog_id,
                schema=SCHEMA,
                proposals=proposals,
                current=batch.values,
                bases=bases,
                operation="enrich",
                run_id=None,
            )
            for _ in range(2)
        ]
        counts, again = passes
        assert again == {}, "the same proposals from the same content are recorded once"
        mark_stage(session, stage="enrich", bases=bases, run_id=None)
        assert (
            pending_record_ids(session, catalog_id=catalog_id, stage="enrich", version="v1") == []
        )
        # a new stage version (say, an attribute added to the schema) makes every record due
        assert (
            pending_record_ids(session, catalog_id=catalog_id, stage="enrich", version="v2") == ids
        )
        total = session.scalar(sa.select(sa.func.count()).select_from(Change))
        values = {r.external_id: r.values for r in session.scalars(sa.select(Record))}
    assert counts == {"applied": 2, "queued_for_review": 1, "dropped": 1}
    assert total == 4
    assert values["A1"]["voltage"] == 18.0
    assert "voltage" not in values["A2"] and "voltage" not in values["A3"]
    assert values["A3"]["colour"] == "red"


def _seed_review(session) -> tuple[int, list[int]]:
    catalog_id = _catalog(session)
    frame, hashes = _frame({"A1": "Drill 18V", "A2": "Saw 230V"})
    upsert_records(session, catalog_id=catalog_id, frame=frame, hashes=hashes, source="f")
    ids = pending_record_ids(session, catalog_id=catalog_id, stage="enrich", version="v1")
    batch = load_records(session, record_ids=ids)
    record_changes(
        session,
        catalog_id=catalog_id,
        schema=SCHEMA,
        proposals=[
            Proposal(i, "voltage", 18.0 + n, 0.6 + n / 10, "extract") for n, i in enumerate(ids)
        ],
        current=batch.values,
        bases={rid: stage_basis(h, "v1") for rid, h in batch.hashes.items()},
        operation="enrich",
        run_id=None,
    )
    return catalog_id, ids


def test_planning_a_stage_brings_postgres_statistics_up_to_the_rows_just_written(
    store_url: str,
) -> None:
    """A stage's plan over the whole catalogue refreshes PostgreSQL's statistics: the planner
    then knows the thousands of rows the previous stage wrote, instead of planning the
    batches' queries for the empty tables it last saw (at a million records that made each
    page of the catalogue a sort on disk)."""
    if not store_url.startswith("postgresql"):
        pytest.skip("SQLite keeps no planner statistics to refresh")

    def estimated(table: str) -> float:
        with get_engine(store_url).connect() as conn:
            query = sa.text("SELECT reltuples FROM pg_class WHERE relname = :t")
            return conn.execute(query, {"t": table}).scalar_one()

    with session_scope(store_url) as session:
        catalog_id = _catalog(session)
        frame, hashes = _frame({f"A{i}": f"Drill {i}V" for i in range(1500)})
        upsert_records(session, catalog_id=catalog_id, frame=frame, hashes=hashes, source="f")
    assert estimated("records") < 1500  # never analysed: -1, "unknown"
    with session_scope(store_url) as session:
        ids = pending_record_ids(session, catalog_id=catalog_id, stage="enrich", version="v1")
        mark_stage(session, stage="enrich", bases=dict.fromkeys(ids, "b"), run_id=None)
        # a batch's own lookup (by id range) leaves the statistics alone: it is not a plan
        pending_record_ids(
            session, catalog_id=catalog_id, stage="enrich", version="v1", id_range=(0, 10)
        )
    assert estimated("records") == 1500
    assert estimated("stage_marks") < 1500
    with session_scope(store_url) as session:
        assert pending_record_ids(session, catalog_id=catalog_id, stage="enrich", version="v1")
    assert estimated("stage_marks") == 1500


def test_refreshing_statistics_neither_holds_nor_waits_long_for_the_analyze_lock(
    store_url: str,
) -> None:
    """The refresh runs in its own short transaction: a long stage transaction that planned
    does not keep other runs from analysing, and a lock held elsewhere (an autovacuum, another
    run's ANALYZE) costs a planning stage two seconds, not the other transaction's length."""
    if not store_url.startswith("postgresql"):
        pytest.skip("SQLite keeps no planner statistics to refresh")
    import time

    with session_scope(store_url) as session:
        catalog_id = _catalog(session)
        frame, hashes = _frame({"A1": "Drill 18V"})
        upsert_records(session, catalog_id=catalog_id, frame=frame, hashes=hashes, source="f")
    other = sa.create_engine(store_url)
    try:
        with session_scope(store_url) as session:
            pending_record_ids(session, catalog_id=catalog_id, stage="enrich", version="v1")
            with other.begin() as conn:  # while the planning stage's transaction is open
                conn.exec_driver_sql("SET LOCAL lock_timeout = '1s'")
                conn.exec_driver_sql("ANALYZE records")
        with other.begin() as holder:
            holder.exec_driver_sql("ANALYZE records")  # holds the lock until this block ends
            started = time.monotonic()
            with session_scope(store_url) as session:
                ids = pending_record_ids(
                    session, catalog_id=catalog_id, stage="enrich", version="v1"
                )
            waited = time.monotonic() - started
        assert len(ids) == 1
        assert 1.5 < waited < 10
    finally:
        other.dispose()


def test_deleting_a_catalogue_deletes_its_records_changes(store_url: str) -> None:
    """A change is tied to its catalogue through its record (migration 0013 dropped the
    second key on PostgreSQL): deleting the catalogue still leaves no change behind, and
    another catalogue's changes stay."""
    with session_scope(store_url) as session:
        catalog_id, _ = _seed_review(session)
        org = get_or_create_organization(session, name="other")
        other = upsert_catalog(session, organization=org, schema=SCHEMA).id
        frame, hashes = _frame({"B1": "Drill 12V"})
        upsert_records(session, catalog_id=other, frame=frame, hashes=hashes, source="f")
        (kept,) = pending_record_ids(session, catalog_id=other, stage="enrich", version="v1")
        record_changes(
            session,
            catalog_id=other,
            schema=SCHEMA,
            proposals=[Proposal(kept, "voltage", 12.0, 0.95, "extract")],
            current={kept: {}},
            bases={kept: stage_basis("h", "v1")},
            operation="enrich",
            run_id=None,
        )
    with get_engine(store_url).begin() as conn:
        before = conn.execute(sa.text("SELECT catalog_id, count(*) FROM changes GROUP BY 1"))
        assert dict(before.tuples().all()) == {catalog_id: 2, other: 1}
        conn.execute(sa.text("DELETE FROM catalogs WHERE id = :id"), {"id": catalog_id})
        after = conn.execute(sa.text("SELECT catalog_id, count(*) FROM changes GROUP BY 1"))
        assert dict(after.tuples().all()) == {other: 1}


def test_review_approve_applies_and_reject_closes(store_url: str) -> None:
    with session_scope(store_url) as session:
        catalog_id, (a1, a2) = _seed_review(session)
        queue = review_queue(session, where=ChangeFilter(catalog_id=catalog_id))
        assert [c.record_id for c in queue] == [a1, a2]
        approved = approve(
            session,
            where=ChangeFilter(catalog_id=catalog_id, min_confidence=0.65),
            reviewer="ann",
        )
        rejected = reject(session, where=ChangeFilter(catalog_id=catalog_id), reviewer="bob")
        a1_values = session.get(Record, a1).values
        a2_values = session.get(Record, a2).values
        counts = status_counts(session, where=ChangeFilter(catalog_id=catalog_id))
    assert [c.record_id for c in approved] == [a2] and approved[0].reviewer == "ann"
    assert [c.record_id for c in rejected] == [a1]
    assert a2_values["voltage"] == 19.0 and "voltage" not in a1_values
    assert counts == {"approved": 1, "rejected": 1}


def test_approving_a_change_to_content_that_moved_on_is_refused(store_url: str) -> None:
    with session_scope(store_url) as session:
        catalog_id, _ = _seed_review(session)
        edited, hashes = _frame({"A1": "Drill 20V"})
        upsert_records(session, catalog_id=catalog_id, frame=edited, hashes=hashes, source="f")
        with pytest.raises(StaleChange, match="re-imported"):
            approve(session, where=ChangeFilter(catalog_id=catalog_id), reviewer="ann")


def test_rollback_restores_the_field_and_logs_the_undo(store_url: str) -> None:
    with session_scope(store_url) as session:
        catalog_id, (a1, _) = _seed_review(session)
        approve(session, where=ChangeFilter(catalog_id=catalog_id), reviewer="ann")
        assert session.get(Record, a1).values["voltage"] == 18.0
        undo = rollback_field(
            session, catalog_id=catalog_id, external_id="A1", field="voltage", reviewer="ann"
        )
        values = session.get(Record, a1).values
        statuses = status_counts(session, where=ChangeFilter(catalog_id=catalog_id))
    assert "voltage" not in values
    assert undo.operation == "rollback" and undo.old_value == 18.0 and undo.new_value is None
    assert statuses == {"rolled_back": 1, "approved": 1, "applied": 1}


def test_a_newer_proposal_supersedes_a_queued_one_and_decisions_are_not_asked_again(
    store_url: str,
) -> None:
    with session_scope(store_url) as session:
        catalog_id, (a1, a2) = _seed_review(session)  # 18 V on A1, 19 V on A2, both queued
        reject(
            session,
            where=ChangeFilter(catalog_id=catalog_id, change_ids=None, min_confidence=0.65),
            reviewer="ann",
        )  # A2 rejected
        batch = load_records(session, record_ids=[a1, a2])
        bases = {rid: stage_basis(h, "v2") for rid, h in batch.hashes.items()}
        counts = record_changes(
            session,
            catalog_id=catalog_id,
            schema=SCHEMA,
            proposals=[
                Proposal(a1, "voltage", 24.0, 0.7, "extract"),  # new value for A1
                Proposal(a2, "voltage", 19.0, 0.7, "extract"),
            ],  # the rejected one again
            current=batch.values,
            bases=bases,
            operation="enrich",
            run_id=None,
        )
        queue = review_queue(session, where=ChangeFilter(catalog_id=catalog_id))
        statuses = status_counts(session, where=ChangeFilter(catalog_id=catalog_id))
    assert counts == {"queued_for_review": 1}
    assert [(c.record_id, c.new_value) for c in queue] == [(a1, 24.0)]
    assert statuses == {"superseded": 1, "rejected": 1, "queued_for_review": 1}


def test_sqlite_reads_each_keyset_page_and_batch_range_through_the_catalogue_id_index(
    store_url: str,
) -> None:
    """Paging a catalogue (`record_pages`, `iter_current_values`) and a batch's pending ids
    are ranges of one index, returned in order: with only (catalog_id, updated_at) to serve
    ``catalog_id = ?``, SQLite read the rest of the catalogue and sorted it for every page, so
    a full scan cost time in the square of the catalogue's size (migration 0014)."""
    if not store_url.startswith("sqlite"):
        pytest.skip("PostgreSQL plans with statistics (test above); this is SQLite's planner")
    from catalog.records import iter_current_values, record_pages

    with session_scope(store_url) as session:
        catalog_id = _catalog(session)
        frame, hashes = _frame({f"A{i}": f"Drill {i}V" for i in range(30)})
        upsert_records(session, catalog_id=catalog_id, frame=frame, hashes=hashes, source="f")
    statements: list[str] = []
    engine = get_engine(store_url)

    @sa.event.listens_for(engine, "before_cursor_execute")
    def capture(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM records" in statement:
            statements.append((statement, parameters))

    try:
        with session_scope(store_url) as session:
            pages = list(
                record_pages(session, catalog_id=catalog_id, columns=[Record.id], page_size=7)
            )
            ids = [row[0] for page in pages for row in page]
            assert ids == sorted(ids) and len(ids) == 30
            values = list(iter_current_values(session, catalog_id=catalog_id, batch_size=7))
            assert sum(len(external) for external, _ in values) == 30
            pending_record_ids(
                session, catalog_id=catalog_id, stage="enrich", version="v1", id_range=(3, 9)
            )
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    assert statements
    with engine.connect() as conn:
        for statement, parameters in statements:
            plan = " | ".join(
                row[-1]
                for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            )
            assert "ix_records_catalog_id" in plan, plan
            assert "TEMP B-TREE" not in plan, plan
