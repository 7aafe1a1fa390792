"""The `skuflow` command as a user types it: onboard with its summary, the review queue,
approve/reject by filter, rollback, export, and plain errors with exit code 1."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.usefixtures("prefect_harness")

runner = CliRunner()


def _onboard(out: Path, source: Path = EXAMPLES / "acme_supplier_catalog.csv"):
    return runner.invoke(
        app,
        [
            "onboard",
            str(source),
            "--catalog",
            str(EXAMPLES / "catalog.yaml"),
            "--taxonomy",
            str(EXAMPLES / "taxonomy.txt"),
            "--companies",
            str(EXAMPLES / "suppliers.csv"),
            "--out",
            str(out),
            "--format",
            "csv,jsonl",
        ],
    )


def test_onboard_prints_the_summary_and_review_commands_act_on_the_queue(tmp_path: Path) -> None:
    result = _onboard(tmp_path / "out")
    assert result.exit_code == 0, result.output
    for line in ("records read", "changes queued for review", "validation", "passed"):
        assert line in result.output
    assert (tmp_path / "out" / "acme-supplier-catalog.jsonl").exists()

    listed = runner.invoke(app, ["review", "list", "--limit", "5"])
    assert listed.exit_code == 0 and "Review queue" in listed.output

    approved = runner.invoke(
        app, ["review", "approve", "--all", "--min-confidence", "0.8", "--reviewer", "ann"]
    )
    assert approved.exit_code == 0 and approved.output.startswith("Approved ")
    rejected = runner.invoke(app, ["review", "reject", "--all", "--reviewer", "ann"])
    assert rejected.exit_code == 0 and "Rejected " in rejected.output
    empty = runner.invoke(app, ["review", "list"])
    assert ": 0 change(s)" in empty.output

    nothing = runner.invoke(app, ["review", "approve"])
    assert nothing.exit_code == 1 and "--all" in nothing.output


def test_rollback_and_export_from_the_command_line(tmp_path: Path) -> None:
    assert _onboard(tmp_path / "out").exit_code == 0
    export = tmp_path / "now.csv"
    assert runner.invoke(app, ["export", str(export)]).exit_code == 0
    with export.open(newline="", encoding="utf-8") as handle:
        row = next(r for r in csv.DictReader(handle) if r["voltage"])
    rolled = runner.invoke(app, ["rollback", "--record", row["external_id"], "--field", "voltage"])
    assert rolled.exit_code == 0, rolled.output
    assert "Rolled back 1 change(s)" in rolled.output
    assert runner.invoke(app, ["export", str(export)]).exit_code == 0
    with export.open(newline="", encoding="utf-8") as handle:
        after = next(r for r in csv.DictReader(handle) if r["external_id"] == row["external_id"])
    assert after["voltage"] == ""

    missing = runner.invoke(app, ["rollback", "--record", "NOPE", "--field", "voltage"])
    assert missing.exit_code == 1


def test_a_bad_file_exits_1_naming_file_row_and_column(tmp_path: Path) -> None:
    source = EXAMPLES / "acme_supplier_catalog.csv"
    lines = source.read_text(encoding="utf-8").splitlines()
    header = next(csv.reader([lines[0]]))
    row = next(csv.reader([lines[3]]))
    row[header.index("Unit Price")] = "ask us"
    bad = tmp_path / "bad.csv"
    with bad.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerow(row)
    result = _onboard(tmp_path / "out", source=bad)
    assert result.exit_code == 1
    assert "nothing was stored" in result.output
    assert "bad.csv" in result.output and "row 2" in result.output
    assert "Unit Price" in result.output and "ask us" in result.output


def test_export_records_a_run(tmp_path: Path) -> None:
    from catalog.db import session_scope
    from catalog.models import Run

    assert _onboard(tmp_path / "out").exit_code == 0
    export = tmp_path / "now.csv"
    assert runner.invoke(app, ["export", str(export)]).exit_code == 0
    failed = runner.invoke(app, ["export", str(tmp_path / "now.unknown")])
    assert failed.exit_code != 0
    with session_scope() as session:
        runs = session.query(Run).filter(Run.operation == "export").order_by(Run.id).all()
        assert [r.status for r in runs] == ["completed", "failed"]
        assert runs[0].params["out"] == str(export)
        assert runs[0].counts["outputs"] == [str(export)]
        assert runs[0].counts["records"] > 0 and runs[1].error
