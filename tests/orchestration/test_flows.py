"""The scheduled operations as flows (Prefect test harness, real SQLite store and files):
monitor reports the drift of a supplier feed, the quality report validates without halting,
one stage re-runs alone, export publishes a stored catalogue."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import sqlalchemy as sa

from catalog.db import session_scope
from catalog.errors import ValidationFailed
from catalog.models import Record
from flows.export import export
from flows.monitor import monitor
from flows.onboard import onboard
from flows.quality_report import quality_report
from flows.rerun_stage import rerun_stage
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.usefixtures("prefect_harness")

SCHEMA = EXAMPLES / "catalog.yaml"
CATALOG = "acme-supplier-catalog"
ROWS = 40


def _sample(path: Path, edit=None) -> Path:
    """The first rows of the bundled example, optionally edited."""
    with (EXAMPLES / "acme_supplier_catalog.csv").open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header, rows = list(reader.fieldnames or []), list(reader)[:ROWS]
    if edit:
        edit(rows)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def onboarded(tmp_path: Path) -> Path:
    source = _sample(tmp_path / "feed.csv")
    onboard(source=str(source), catalog=str(SCHEMA), companies=str(EXAMPLES / "suppliers.csv"))
    return source


def test_monitor_reports_the_moved_prices_and_nothing_on_an_unchanged_feed(
    onboarded: Path, tmp_path: Path
) -> None:
    def raise_two_prices(rows: list[dict[str, str]]) -> None:
        for row in rows[:2]:
            row["Unit Price"] = f"{float(row['Unit Price']) + 1:.2f}"

    moved = _sample(tmp_path / "today.csv", raise_two_prices)
    summary = monitor(source=str(moved), catalog=str(SCHEMA), fields=["price"])
    assert summary["status"] == "completed"
    assert summary["drift"] == {"price": 2}

    again = monitor(source=str(moved), catalog=str(SCHEMA), fields=["price"])
    assert again["drift"] == {}


def test_the_quality_report_validates_the_stored_catalogue_without_halting(
    onboarded: Path,
) -> None:
    summary = quality_report(catalog=CATALOG)
    assert summary["status"] == "completed"
    assert summary["quality"]["passed"] == 1
    assert summary["records"] == ROWS

    # the Analyse page, written as one file and linked from the run's artifacts
    page = Path(summary["quality_page"])
    html = page.read_text(encoding="utf-8")
    for section in (
        "Completeness per attribute",
        "Confidence per field",
        "Review queue over time",
        "Validation failures per expectation",
    ):
        assert section in html
    assert "data:image/svg+xml;base64," in html and "<script" not in html
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        links = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=["acme-supplier-catalog-quality-page"])
            )
        )
    assert any(page.resolve().as_uri() in str(a.data) for a in links)


def test_one_stage_reruns_alone_and_a_failing_validate_fails_the_run(
    onboarded: Path, tmp_path: Path
) -> None:
    companies = str(EXAMPLES / "suppliers.csv")
    same = rerun_stage(catalog=CATALOG, stage="enrich", companies=companies)
    assert same["status"] == "completed"
    assert same.get("enrich", {}).get("processed", 0) == 0  # same data: nothing to redo
    without = rerun_stage(catalog=CATALOG, stage="enrich")  # other reference data
    assert without["enrich"]["processed"] == ROWS
    assert "classify" not in without and "ingest" not in without

    def blank_a_title(rows: list[dict[str, str]]) -> None:
        rows[0]["Product Name"] = ""

    with pytest.raises(ValidationFailed):
        onboard(source=str(_sample(tmp_path / "bad.csv", blank_a_title)), catalog=str(SCHEMA))
    # the halted run held the blank title: the stored catalogue still validates
    assert rerun_stage(catalog=CATALOG, stage="validate")["status"] == "completed"

    with session_scope() as session:  # a stored record that no longer passes fails the stage
        record = session.scalar(sa.select(Record).order_by(Record.id).limit(1))
        record.values = {**record.values, "title": ""}
    with pytest.raises(ValidationFailed):
        rerun_stage(catalog=CATALOG, stage="validate")


def test_export_publishes_a_stored_catalogue_by_name(onboarded: Path, tmp_path: Path) -> None:
    summary = export(catalog=CATALOG, out=str(tmp_path / "out"), formats=["csv", "jsonl"])
    assert summary["status"] == "completed"
    with (tmp_path / "out" / f"{CATALOG}.csv").open(newline="", encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == ROWS
    assert (tmp_path / "out" / f"{CATALOG}.jsonl").stat().st_size > 0
