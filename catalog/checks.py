"""The validate stage over the store: the schema's suite run on every record, batch by batch,
with the report written where a person will look for it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy.orm import Session

from catalog.filters import RecordFilter
from catalog.held import held_of_run
from catalog.records import iter_current_values
from catalog.schema import CatalogSchema
from catalog.validation import SuiteRunner, ValidationReport

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
) -> SavedReport:
    """Validate the catalogue as it stands (the records ``record_filter`` selects, or all) and
    save the report (JSON and Markdown)."""
    runner = SuiteRunner(schema, id_column=ID_COLUMN)
    columns = [a.name for a in schema.attributes]
    for external_ids, values in iter_current_values(
        session, catalog_id=catalog_id, batch_size=batch_size, record_filter=record_filter
    ):
        frame = pd.DataFrame.from_records(values, columns=columns)
        frame[ID_COLUMN] = external_ids
        runner.validate(frame)
    report = runner.report()
    report.held_count, report.held = held_of_run(session, run_id=run_id)
    return save_report(report, reports_dir=reports_dir, run_id=run_id)


def save_report(report: ValidationReport, *, reports_dir: Path, run_id: int) -> SavedReport:
    """Write a run's validation report where a person looks for it (JSON and Markdown)."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    stem = reports_dir / f"run-{run_id}-validation"
    json_path = stem.with_suffix(".json")
    markdown_path = stem.with_suffix(".md")
    json_path.write_text(json.dumps(report.to_dict(), indent=2, default=str), encoding="utf-8")
    markdown_path.write_text(report.to_markdown(), encoding="utf-8")
    return SavedReport(report=report, json_path=json_path, markdown_path=markdown_path)
