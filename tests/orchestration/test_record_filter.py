"""The `record_filter` parameter of the scheduled flows (Prefect test harness, real SQLite store
and files): onboard imports the whole file but processes only the selected records, and export,
the quality report, a re-run stage and monitoring each act on the selected records only. The
filter is passed as JSON, the way a deployment's parameters arrive."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from catalog.db import session_scope
from catalog.held import held_of_run
from catalog.settings import get_settings
from flows.export import export
from flows.monitor import monitor
from flows.onboard import onboard
from flows.quality_report import quality_report
from flows.rerun_stage import rerun_stage
from tests.conftest import EXAMPLES
from tests.orchestration.test_flows import ROWS
from tests.orchestration.test_flows import _sample as sample_feed

pytestmark = pytest.mark.usefixtures("prefect_harness")

SCHEMA = str(EXAMPLES / "catalog.yaml")
COMPANIES = str(EXAMPLES / "suppliers.csv")
CATALOG = "acme-supplier-catalog"
SELECTED = 10


def _sample(path: Path, edit=None) -> tuple[Path, list[str]]:
    """The first rows of the bundled example (optionally edited) and their item numbers."""
    written = sample_feed(path, edit)
    with written.open(newline="", encoding="utf-8") as handle:
        return written, [row["Item #"] for row in csv.DictReader(handle)]


def _blank_last_title(rows: list[dict[str, str]]) -> None:
    rows[-1]["Product Name"] = ""  # a blocking failure outside the selected records


def _exported_ids(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [row["external_id"] for row in csv.DictReader(handle)]


@pytest.fixture
def onboarded(tmp_path: Path) -> tuple[Path, list[str], dict]:
    """A 40-row feed whose last row fails validation, onboarded with a filter that selects the
    first ten records: the run completes and publishes those ten."""
    source, ids = _sample(tmp_path / "feed.csv", _blank_last_title)
    selected = {"external_ids": ids[:SELECTED]}
    summary = onboard(
        source=str(source),
        catalog=SCHEMA,
        companies=COMPANIES,
        out=str(tmp_path / "out"),
        record_filter=selected,
    )
    assert summary["status"] == "completed"
    # the whole file is imported but the bad row, which is held (not fatal: it is outside the
    # selection) and listed with its reason
    assert summary["records"] == ROWS - 1
    with session_scope(get_settings().store_url) as session:
        count, held = held_of_run(session, run_id=summary["run_id"])
    assert count == 1 and held[0]["id"] == ids[-1], held
    assert _exported_ids(tmp_path / "out" / f"{CATALOG}.csv") == ids[:SELECTED]
    return source, ids, selected


def test_export_writes_only_the_matching_records(onboarded, tmp_path: Path) -> None:
    _, ids, _ = onboarded
    glob = ids[3][:-1] + "*"  # e.g. AC-1001* : the ids sharing all but the last character
    summary = export(
        catalog=CATALOG, out=str(tmp_path / "glob"), record_filter={"external_id_glob": glob}
    )
    assert summary["status"] == "completed"
    expected = [i for i in ids if i.startswith(glob[:-1])]
    assert 0 < len(expected) < ROWS
    assert _exported_ids(tmp_path / "glob" / f"{CATALOG}.csv") == expected


def test_export_by_category_prefix(onboarded, tmp_path: Path) -> None:
    export(catalog=CATALOG, out=str(tmp_path / "all"))
    with (tmp_path / "all" / f"{CATALOG}.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    fasteners = [r["external_id"] for r in rows if r["category"].upper().startswith("FASTENERS")]
    assert 0 < len(fasteners) < len(rows)
    export(catalog=CATALOG, out=str(tmp_path / "cat"), record_filter={"category": "Fasteners"})
    assert _exported_ids(tmp_path / "cat" / f"{CATALOG}.csv") == fasteners


def test_the_quality_report_covers_only_the_matching_records(onboarded) -> None:
    _, _, selected = onboarded
    narrow = quality_report(catalog=CATALOG, record_filter=selected)
    assert narrow["quality"]["passed"] == 1
    report = json.loads(Path(_report_path(narrow["run_id"])).read_text(encoding="utf-8"))
    assert report["records"] == SELECTED

    whole = quality_report(catalog=CATALOG)  # every stored record (the blank title was held)
    report = json.loads(Path(_report_path(whole["run_id"])).read_text(encoding="utf-8"))
    assert report["records"] == ROWS - 1


def test_a_rerun_stage_processes_only_the_matching_records(onboarded) -> None:
    _, ids, _ = onboarded
    # other reference data: every record is due for enrichment again, the filter picks two
    rerun = rerun_stage(catalog=CATALOG, stage="enrich", record_filter={"external_ids": ids[:2]})
    assert rerun["enrich"]["processed"] == 2


def test_monitor_reports_drift_of_the_matching_records_only(
    onboarded,
    tmp_path: Path,
) -> None:
    _, _, selected = onboarded

    def raise_two_prices(rows: list[dict[str, str]]) -> None:
        _blank_last_title(rows)
        for row in (rows[0], rows[SELECTED + 5]):  # one inside the filter, one outside
            row["Unit Price"] = "1234.56"

    moved, _ = _sample(tmp_path / "today.csv", raise_two_prices)
    summary = monitor(source=str(moved), catalog=SCHEMA, fields=["price"], record_filter=selected)
    assert summary["drift"] == {"price": 1}


def _report_path(run_id: int) -> str:
    from catalog.db import session_scope
    from catalog.models import Run
    from catalog.settings import get_settings

    with session_scope(get_settings().store_url) as session:
        return session.get(Run, run_id).report_path
