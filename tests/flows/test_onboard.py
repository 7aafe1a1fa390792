"""The onboard flow end to end, on the bundled example, real stores, real files and the
Prefect test harness: happy path, review branch, halt, idempotent re-run, edits, rollback and
bad inputs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from catalog.changes import ChangeFilter, approve, review_queue
from catalog.db import get_engine, session_scope
from catalog.errors import InputError, ValidationFailed
from catalog.models import Change, Record, Run
from catalog.schema import CatalogSchema
from flows.onboard import onboard
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.usefixtures("prefect_harness")

SOURCE = EXAMPLES / "acme_supplier_catalog.csv"
SCHEMA_PATH = EXAMPLES / "catalog.yaml"
SCHEMA = CatalogSchema.from_yaml(SCHEMA_PATH)


def _rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def _write(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _run(store_url: str, out: Path, source: Path = SOURCE, **overrides) -> dict:
    params = {
        "source": str(source),
        "catalog": str(SCHEMA_PATH),
        "taxonomy": str(EXAMPLES / "taxonomy.txt"),
        "companies": str(EXAMPLES / "suppliers.csv"),
        "out": str(out),
        "formats": ["csv", "parquet"],
        "table": f"{store_url}#published_products",
        "database_url": store_url,
    }
    return onboard(**{**params, **overrides})


def _count(store_url: str, model) -> int:
    with session_scope(store_url) as session:
        return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_happy_path_classifies_enriches_validates_and_publishes(
    store_url: str, tmp_path: Path
) -> None:
    _, source_rows = _rows(SOURCE)
    summary = _run(store_url, tmp_path / "out")

    assert summary["status"] == "completed"
    assert summary["records"] == len(source_rows)
    assert summary["changes"]["applied"] > 0
    assert summary["validation"]["success"] is True

    _, exported = _rows(tmp_path / "out" / f"{SCHEMA.name}.csv")
    assert len(exported) == len(source_rows)
    assert (tmp_path / "out" / f"{SCHEMA.name}.parquet").stat().st_size > 0
    with get_engine(store_url).connect() as conn:
        published = conn.execute(sa.text("SELECT COUNT(*) FROM published_products")).scalar()
    assert published == len(source_rows)

    with session_scope(store_url) as session:
        run = session.get(Run, summary["run_id"])
        assert run.status == "completed" and run.flow_run_id
        classified = session.scalars(
            sa.select(Change).where(Change.operation == "classify", Change.status == "applied")
        ).all()
        enriched = session.scalars(
            sa.select(Change).where(Change.operation == "enrich", Change.status == "applied")
        ).all()
    # every applied change carries its provenance
    assert classified and all(c.model and c.explanation and c.confidence >= 0.9 for c in classified)
    assert enriched and all(c.sources and c.explanation for c in enriched)
    categorised = [row for row in exported if row["category"]]
    assert len(categorised) >= len([r for r in source_rows if r["Category"].strip()])


def test_low_confidence_changes_wait_for_review_and_approval_applies_them(
    store_url: str, tmp_path: Path
) -> None:
    _run(store_url, tmp_path / "out")
    with session_scope(store_url) as session:
        queue = review_queue(session, where=ChangeFilter())
        assert queue, "the example must leave some changes for a person"
        for change in queue:
            bounds = SCHEMA.thresholds_for(change.field)
            assert bounds.reject <= change.confidence < bounds.auto_apply
        first = queue[0]
        approve(session, where=ChangeFilter(change_ids=[first.id]), reviewer="tester")
        record = session.get(Record, first.record_id)
        assert record.values[first.field] == first.new_value


def test_failed_validation_halts_before_anything_is_distributed(
    store_url: str, tmp_path: Path
) -> None:
    header, rows = _rows(SOURCE)
    broken_sku = rows[4]["Item #"].strip()
    rows[4]["Product Name"] = ""  # title is required
    bad = _write(tmp_path / "bad.csv", header, rows)
    fresh = tmp_path / "fresh"

    with pytest.raises(ValidationFailed) as failure:
        _run(store_url, fresh, source=bad)

    assert not fresh.exists() or not any(fresh.iterdir())
    with get_engine(store_url).connect() as conn:
        assert not sa.inspect(conn).has_table("published_products")
    report = json.loads(Path(failure.value.report_path).read_text())
    assert report["success"] is False
    assert broken_sku in json.dumps(report)
    with session_scope(store_url) as session:
        run = session.scalar(sa.select(Run).order_by(Run.id.desc()))
        assert run.status == "failed" and run.report_path == failure.value.report_path


def test_a_halt_leaves_earlier_outputs_exactly_as_they_were(store_url: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _run(store_url, out)
    export = out / f"{SCHEMA.name}.csv"
    before = export.read_bytes()
    with get_engine(store_url).connect() as conn:
        published = conn.execute(sa.text("SELECT * FROM published_products ORDER BY 1")).all()

    header, rows = _rows(SOURCE)
    rows[4]["Unit Price"] = "-5"  # price has min: 0
    with pytest.raises(ValidationFailed):
        _run(store_url, out, source=_write(tmp_path / "negative.csv", header, rows))

    assert export.read_bytes() == before
    with get_engine(store_url).connect() as conn:
        assert conn.execute(sa.text("SELECT * FROM published_products ORDER BY 1")).all() == (
            published
        )


def test_rerun_changes_nothing_and_edits_touch_only_edited_records(
    store_url: str, tmp_path: Path
) -> None:
    header, rows = _rows(SOURCE)
    first = _run(store_url, tmp_path / "out")
    changes_after_first = _count(store_url, Change)

    second = _run(store_url, tmp_path / "out")
    assert _count(store_url, Change) == changes_after_first
    assert second["ingest"] == {
        "read": len(rows),
        "inserted": 0,
        "updated": 0,
        "unchanged": len(rows),
    }
    assert second["changes"] == {}

    edited_ids = set()
    for row in rows[10:20]:
        row["Product Name"] = row["Product Name"] + " 24V"
        row["Unit Price"] = "99.50"
        edited_ids.add(row["Item #"].strip())
    edited = _write(tmp_path / "edited.csv", header, rows)
    third = _run(store_url, tmp_path / "out", source=edited)
    assert third["ingest"]["updated"] == 10
    with session_scope(store_url) as session:
        touched = set(
            session.scalars(
                sa.select(Record.external_id)
                .join(Change, Change.record_id == Record.id)
                .where(Change.run_id == third["run_id"])
            )
        )
        ingest_changes = session.scalars(
            sa.select(Change).where(Change.run_id == third["run_id"], Change.operation == "ingest")
        ).all()
    assert touched == edited_ids
    assert first["run_id"] != third["run_id"]
    assert {c.field for c in ingest_changes} == {"title", "price"}
    assert all(c.new_value == 99.5 for c in ingest_changes if c.field == "price")


def test_rollback_restores_a_field(store_url: str, tmp_path: Path) -> None:
    from catalog.changes import rollback_field

    _run(store_url, tmp_path / "out")
    with session_scope(store_url) as session:
        change = session.scalar(
            sa.select(Change).where(Change.operation == "enrich", Change.status == "applied")
        )
        record = session.get(Record, change.record_id)
        undo = rollback_field(
            session,
            catalog_id=record.catalog_id,
            external_id=record.external_id,
            field=change.field,
            reviewer="tester",
        )
        assert record.values.get(change.field) == change.old_value
        assert undo.new_value == change.old_value and undo.old_value == change.new_value


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[Path, list[str]]]:
    header, rows = _rows(SOURCE)
    cases: dict[str, tuple[Path, list[str]]] = {}
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    cases["empty file"] = (empty, ["empty.csv", "empty"])

    latin = tmp_path / "latin1.csv"
    text = SOURCE.read_text(encoding="utf-8").splitlines()
    text[7] = text[7].replace(",", ",Caf\u00e9 ", 1)
    latin.write_bytes("\n".join(text).encode("utf-8").replace("Caf\u00e9".encode(), b"Caf\xe9"))
    cases["wrong encoding"] = (latin, ["latin1.csv", "row 8"])

    unknown = [dict(r, **{"Warehouse Bin": "B7"}) for r in rows]
    cases["unknown column"] = (
        _write(tmp_path / "unknown.csv", [*header, "Warehouse Bin"], unknown),
        ["unknown.csv", "Warehouse Bin"],
    )

    huge = [dict(r) for r in rows]
    huge[2]["Description"] = "x" * (50 * 1024 * 1024)
    cases["50 MB line"] = (_write(tmp_path / "huge.csv", header, huge), ["huge.csv", "row 4"])

    text_price = [dict(r) for r in rows]
    text_price[5]["Unit Price"] = "call for price"
    cases["text in a number column"] = (
        _write(tmp_path / "price.csv", header, text_price),
        ["price.csv", "row 7", "Unit Price", "call for price"],
    )

    dup = [dict(r) for r in rows]
    dup[8]["Item #"] = dup[3]["Item #"]
    cases["duplicate ids"] = (
        _write(tmp_path / "dup.csv", header, dup),
        ["dup.csv", "row 10", "Item #", "duplicate"],
    )

    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append([row[h] for h in header])
    whole = tmp_path / "whole.xlsx"
    workbook.save(whole)
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    cases["truncated XLSX"] = (truncated, ["truncated.xlsx", "XLSX"])
    return cases


def test_bad_inputs_are_rejected_whole_with_file_row_and_column(
    store_url: str, tmp_path: Path
) -> None:
    good = _run(store_url, tmp_path / "out")
    records_before = _count(store_url, Record)
    changes_before = _count(store_url, Change)
    export = tmp_path / "out" / f"{SCHEMA.name}.csv"
    export_before = export.read_bytes()

    for case, (path, expected) in _bad_inputs(tmp_path).items():
        with pytest.raises(InputError) as failure:
            _run(store_url, tmp_path / "out", source=path)
        message = str(failure.value)
        for fragment in expected:
            assert fragment in message, f"{case}: '{fragment}' not in: {message[:500]}"
        assert _count(store_url, Record) == records_before, case
        assert _count(store_url, Change) == changes_before, case
        assert export.read_bytes() == export_before, case
    assert good["status"] == "completed"


def test_a_new_schema_attribute_is_filled_on_the_next_run(store_url: str, tmp_path: Path) -> None:
    lines = SCHEMA_PATH.read_text(encoding="utf-8").splitlines()
    without_power = [line for line in lines if not line.lstrip().startswith("- {name: power,")]
    assert len(without_power) == len(lines) - 1
    narrow = tmp_path / "catalog.yaml"
    narrow.write_text("\n".join(without_power), encoding="utf-8")

    first = _run(store_url, tmp_path / "out", catalog=str(narrow))
    second = _run(store_url, tmp_path / "out")

    assert second["ingest"]["unchanged"] == first["ingest"]["read"]
    with session_scope(store_url) as session:
        fields = set(
            session.scalars(
                sa.select(Change.field).where(Change.run_id == second["run_id"]).distinct()
            )
        )
    assert fields == {"power"}


def test_csv_xlsx_json_and_jsonl_of_the_same_rows_make_the_same_catalogue(tmp_path: Path) -> None:
    import openpyxl

    header, rows = _rows(SOURCE)
    sources = {"csv": SOURCE}
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("products")
    sheet.append(header)
    for row in rows:
        sheet.append([row[h] or None for h in header])
    workbook.save(tmp_path / "catalog.xlsx")
    sources["xlsx"] = tmp_path / "catalog.xlsx"
    objects = [{h: (row[h] or None) for h in header} for row in rows]
    (tmp_path / "catalog.jsonl").write_text(
        "\n".join(json.dumps(o, ensure_ascii=False) for o in objects), encoding="utf-8"
    )
    sources["jsonl"] = tmp_path / "catalog.jsonl"
    (tmp_path / "catalog.json").write_text(json.dumps(objects), encoding="utf-8")
    sources["json"] = tmp_path / "catalog.json"

    catalogues = {}
    for fmt, path in sources.items():
        store = f"sqlite:///{tmp_path / f'{fmt}.db'}"
        summary = _run(store, tmp_path / f"out-{fmt}", source=path, table=None)
        assert summary["records"] == len(rows), fmt
        with session_scope(store) as session:
            catalogues[fmt] = dict(
                session.execute(sa.select(Record.external_id, Record.content_hash)).tuples().all()
            )
    assert catalogues["xlsx"] == catalogues["csv"]
    assert catalogues["jsonl"] == catalogues["csv"]
    assert catalogues["json"] == catalogues["csv"]
