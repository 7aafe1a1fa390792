"""The validate stage over the store: the schema's suite run on every record, batch by batch,
with the report written where a person will look for it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from catalog.collector import collector_paused
from catalog.filters import RecordFilter
from catalog.held import Held, held_of_run, hold_rows, open_validate_holds, resolve_holds
from catalog.records import iter_current_values
from catalog.schema import CatalogSchema
from catalog.validation import (
    ExpectationSpec,
    SuiteRunner,
    ValidationReport,
    expectations_for,
    rule_breaks,
)

ID_COLUMN = "external_id"


@dataclass(frozen=True)
class SavedReport:
    report: ValidationReport
    json_path: Path
    markdown_path: Path


def validate_catalog(
    session: Session,
    *,
    catalog_id: int,
    schema: CatalogSchema,
    batch_size: int,
    reports_dir: Path,
    run_id: int,
    record_filter: RecordFilter | None = None,
    hold_invalid: bool = False,
) -> SavedReport:
    """Validate the catalogue as it stands (the records ``record_filter`` selects, or all) and
    save the report (JSON and Markdown).

    With ``hold_invalid`` and the catalogue's ``on_invalid: quarantine``, records breaking a
    blocking rule are held (stage `validate`, with their reasons) instead of failing the run,
    and left out of what is published; the report validates the others and lists the held
    ones. A held record that passes now is released.
    """
    runner = SuiteRunner(schema, id_column=ID_COLUMN)
    columns = [a.name for a in schema.attributes]
    rules = (
        [s for s in expectations_for(schema) if s.blocking and s.kind != "unique"]
        if hold_invalid and schema.on_invalid == "quarantine"
        else []
    )
    for external_ids, values in iter_current_values(
        session, catalog_id=catalog_id, batch_size=batch_size, record_filter=record_filter
    ):
        with collector_paused():
            frame = pd.DataFrame.from_records(values, columns=columns)
            frame[ID_COLUMN] = external_ids
            if rules:
                frame = _quarantine(session, catalog_id, run_id, frame, schema, rules, values)
            runner.validate(frame)
    report = runner.report()
    report.held_count, report.held = held_of_run(session, run_id=run_id)
    return save_report(report, reports_dir=reports_dir, run_id=run_id)


def _quarantine(
    session: Session,
    catalog_id: int,
    run_id: int,
    frame: pd.DataFrame,
    schema: CatalogSchema,
    rules: list[ExpectationSpec],
    values: list[dict[str, Any]],
) -> pd.DataFrame:
    """Hold the batch's records that break a rule (once: an open hold is kept), release the
    ones that pass, and return the passing ones for the suite."""
    breaks = rule_breaks(frame, schema, rules)
    ids = frame[ID_COLUMN].tolist()
    passing = [ids[p] for p in range(len(ids)) if p not in breaks]
    resolve_holds(session, catalog_id=catalog_id, external_ids=passing, stage="validate")
    failing = {ids[p]: p for p in breaks}
    already = open_validate_holds(session, catalog_id=catalog_id, external_ids=list(failing))
    hold_rows(
        session,
        catalog_id=catalog_id,
        run_id=run_id,
        rows=[
            Held(
                external_id=external_id,
                source="validation",
                row=None,
                values=values[position],
                reasons=breaks[position],
            )
            for external_id, position in failing.items()
            if external_id not in already
        ],
        stage="validate",
    )
    return frame.iloc[[p for p in range(len(ids)) if p not in breaks]]


def save_report(report: ValidationReport, *, reports_dir: Path, run_id: int) -> SavedReport:
    """Write a run's validation report where a person looks for it (JSON and Markdown)."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    stem = reports_dir / f"run-{run_id}-validation"
    json_path = stem.with_suffix(".json")
    markdown_path = stem.with_suffix(".md")
    json_path.write_text(json.dumps(report.to_dict(), indent=2, default=str), encoding="utf-8")
    markdown_path.write_text(report.to_markdown(), encoding="utf-8")
    return SavedReport(report=report, json_path=json_path, markdown_path=markdown_path)
