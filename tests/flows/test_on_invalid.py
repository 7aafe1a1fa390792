"""Bad rows never cost good data (issue 14): the onboard flow over a catalogue with good
records, on real stores and files, with the catalogue's `on_invalid` set to `halt` or
`quarantine`.

Each test dumps every record's current values before and after, as the bytes of canonical
JSON, so "unchanged" means byte-identical, not "looks the same".
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from catalog.db import session_scope
from catalog.errors import InputError, ValidationFailed
from catalog.models import HeldRow, Record, Run
from flows.onboard import onboard

pytestmark = pytest.mark.usefixtures("prefect_harness")

HEADER = ["SKU", "Title", "Price", "Colour", "GTIN"]
GOOD = [
    ["A-1", "Hex bolt M8", "1.20", "Grey", "036000291452"],
    ["A-2", "Hex nut M8", "0.30", "Silver", "4006381333931"],
    ["A-3", "Washer M8", "0.10", "Black", ""],
    ["A-4", "Cable tie 200 mm", "0.05", "Black", ""],
]


def _schema(tmp_path: Path, on_invalid: str) -> Path:
    path = tmp_path / f"catalog-{on_invalid}.yaml"
    schema = {
        "name": f"hardware-{on_invalid}",
        "id": "sku",
        "text": ["title"],
        "on_invalid": on_invalid,
        "attributes": [
            {"name": "sku", "required": True, "source": ["SKU"]},
            {"name": "title", "required": True, "source": ["Title"]},
            {"name": "price", "type": "number", "min": 0, "required": True, "source": ["Price"]},
            {"name": "colour", "type": "enum", "enum": ["Grey", "Silver", "Black"]},
            {"name": "gtin", "type": "gtin", "source": ["GTIN"]},
        ],
    }
    path.write_text(yaml.safe_dump(schema), encoding="utf-8")
    return path


def _csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def _run(store_url: str, schema: Path, source: Path, out: Path) -> dict:
    return onboard(source=str(source), catalog=str(schema), out=str(out), database_url=store_url)


def _dump(store_url: str) -> dict[str, bytes]:
    """Every record's current values as canonical JSON bytes, by external id."""
    with session_scope(store_url) as session:
        rows = session.execute(sa.select(Record.external_id, Record.values)).all()
    return {
        row.external_id: json.dumps(row.values, sort_keys=True, separators=(",", ":")).encode()
        for row in rows
    }


def _held(store_url: str) -> list[HeldRow]:
    with session_scope(store_url) as session:
        return list(session.scalars(sa.select(HeldRow).order_by(HeldRow.id)))


def _bad_file(tmp_path: Path) -> Path:
    rows = [list(r) for r in GOOD]
    rows[0][2] = "-5"  # price has min 0
    rows[1][4] = "4006381333932"  # wrong GTIN check digit
    rows[2][3] = "Purple"  # not a colour of the enum
    rows[3][1] = "Cable tie 300 mm"  # a good edit
    rows.append(["A-5", "Spring washer", "-1", "Black", ""])  # new, and a negative price
    rows.append(["A-6", "Lock nut M8", "0.40", "Grey", "0400000000008"])  # in-store GTIN
    rows.append(["A-7", "Split pin", "0.02", "Silver", ""])  # new and good
    return _csv(tmp_path / "bad.csv", rows)


def test_a_halted_run_changes_no_current_value_and_the_next_good_file_passes(
    store_url: str, tmp_path: Path
) -> None:
    schema = _schema(tmp_path, "halt")
    out = tmp_path / "out"
    first = _run(store_url, schema, _csv(tmp_path / "good.csv", GOOD), out)
    assert first["status"] == "completed"
    before = _dump(store_url)
    exported = (out / "hardware-halt.csv").read_bytes()

    with pytest.raises(ValidationFailed) as failure:
        _run(store_url, schema, _bad_file(tmp_path), out)

    assert _dump(store_url) == before  # not one byte of any record, the good edit included
    assert (out / "hardware-halt.csv").read_bytes() == exported
    held = {h.external_id: h for h in _held(store_url)}
    assert set(held) == {"A-1", "A-2", "A-3", "A-5", "A-6"}
    assert all(h.halted and h.status == "held" for h in held.values())
    assert held["A-1"].record_id is not None and held["A-5"].record_id is None
    assert held["A-1"].values["price"] == -5
    assert [r["rule"] for r in held["A-1"].reasons] == ["price_at_least_0"]
    assert "check digit 2, it should be 1" in held["A-2"].reasons[0]["message"]
    assert "in-store" in held["A-6"].reasons[0]["message"]
    report = json.loads(Path(failure.value.report_path).read_text())
    assert report["success"] is False and report["held"] == 5
    assert {row["id"] for row in report["held_rows"]} == set(held)
    assert "A-1" in failure.value.summary and "price" in failure.value.summary

    # the next good file is judged on its own rows, not on the held ones
    fixed = [list(r) for r in GOOD]
    fixed[3][1] = "Cable tie 300 mm"
    second = _run(store_url, schema, _csv(tmp_path / "fixed.csv", fixed), out)
    assert second["status"] == "completed"
    after = _dump(store_url)
    assert {k: v for k, v in after.items() if k != "A-4"} == {
        k: v for k, v in before.items() if k != "A-4"
    }
    assert json.loads(after["A-4"])["title"] == "Cable tie 300 mm"
    # A-1..A-4 arrived again without breaking a rule: their holds are closed
    open_holds = {h.external_id for h in _held(store_url) if h.status == "held"}
    assert open_holds == {"A-5", "A-6"}


def test_a_quarantining_run_holds_bad_rows_and_publishes_the_rest(
    store_url: str, tmp_path: Path
) -> None:
    schema = _schema(tmp_path, "quarantine")
    out = tmp_path / "out"
    _run(store_url, schema, _csv(tmp_path / "good.csv", GOOD), out)
    before = _dump(store_url)

    summary = _run(store_url, schema, _bad_file(tmp_path), out)

    assert summary["status"] == "completed"
    after = _dump(store_url)
    for sku in ("A-1", "A-2", "A-3"):  # bad edits of good records: held, values untouched
        assert after[sku] == before[sku]
    assert json.loads(after["A-4"])["title"] == "Cable tie 300 mm"
    assert set(after) == {"A-1", "A-2", "A-3", "A-4", "A-7"}  # never stored
    with (out / "hardware-quarantine.csv").open(newline="", encoding="utf-8") as handle:
        published = {row["sku"]: row for row in csv.DictReader(handle)}
    assert set(published) == {"A-1", "A-2", "A-3", "A-4", "A-7"}
    assert published["A-1"]["price"] == "1.2" and published["A-3"]["colour"] == "Black"
    assert published["A-1"]["gtin"] == "00036000291452"  # the UPC-A in its GTIN-14 form
    held = {h.external_id: h for h in _held(store_url)}
    assert set(held) == {"A-1", "A-2", "A-3", "A-5", "A-6"}
    assert not any(h.halted for h in held.values())
    with session_scope(store_url) as session:
        report_path = Path(session.get(Run, summary["run_id"]).report_path)
    report = json.loads(report_path.read_text())
    assert report["success"] is True and report["held"] == 5
    markdown = report_path.with_suffix(".md").read_text()
    assert "Held rows (not applied)" in markdown and '`"Purple"` breaks the rule' in markdown


def test_an_unclosed_quote_fails_the_file_and_keeps_the_stored_record(
    store_url: str, tmp_path: Path
) -> None:
    schema = _schema(tmp_path, "halt")
    _run(store_url, schema, _csv(tmp_path / "good.csv", GOOD), tmp_path / "out")
    before = _dump(store_url)
    broken = tmp_path / "quote.csv"
    broken.write_text(
        'SKU,Title,Price,Colour,GTIN\nA-1,"Hex bolt M8 - 1.50,Grey,\nA-2,Hex nut M8,0.30,Silver,\n',
        encoding="utf-8",
    )

    with pytest.raises(InputError) as failure:
        _run(store_url, schema, broken, tmp_path / "out")

    [problem] = failure.value.problems
    assert (problem.row, problem.column) == (2, "Title")
    assert "quote" in problem.message and "price" not in problem.message.lower()
    assert _dump(store_url) == before


def test_quarantine_holds_a_record_that_fails_only_after_enrichment_until_it_passes(
    store_url: str, tmp_path: Path
) -> None:
    # voltage is required and filled by extraction: a title stating none leaves it empty,
    # which only validation (after enrichment) can see
    path = tmp_path / "derived.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "tools",
                "id": "sku",
                "text": ["title"],
                "on_invalid": "quarantine",
                "attributes": [
                    {"name": "sku", "required": True},
                    {"name": "title", "required": True},
                    {
                        "name": "voltage",
                        "type": "number",
                        "unit": "V",
                        "derive": "extract",
                        "required": True,
                    },
                ],
            }
        ),
        encoding="utf-8",
    )
    feed = tmp_path / "tools.csv"
    feed.write_text("sku,title\nT-1,Cordless drill 18V\nT-2,Hex bolt M8\n", encoding="utf-8")
    out = tmp_path / "out"

    summary = _run(store_url, path, feed, out)

    assert summary["status"] == "completed"
    with (out / "tools.csv").open(newline="", encoding="utf-8") as handle:
        published = {row["sku"]: row for row in csv.DictReader(handle)}
    assert set(published) == {"T-1"} and float(published["T-1"]["voltage"]) == 18
    [held] = _held(store_url)
    assert (held.external_id, held.stage, held.status) == ("T-2", "validate", "held")
    assert held.reasons[0]["rule"] == "voltage_not_null"

    # the supplier states the voltage: the record passes, is released and published
    feed.write_text("sku,title\nT-1,Cordless drill 18V\nT-2,Impact driver 12V\n", encoding="utf-8")
    assert _run(store_url, path, feed, out)["status"] == "completed"
    with (out / "tools.csv").open(newline="", encoding="utf-8") as handle:
        assert {row["sku"] for row in csv.DictReader(handle)} == {"T-1", "T-2"}
    assert [h.status for h in _held(store_url)] == ["resolved"]
