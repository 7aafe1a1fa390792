"""What every run shows in the Prefect UI: a markdown summary, the table of changes waiting
for review, the validation report, and progress while a long run works through its batches.

Plain functions (not tasks), so publishing adds no task runs; keys are stable per catalogue,
so the UI's Artifacts page keeps one versioned history per catalogue and operation.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from sqlalchemy import select

from catalog.db import session_scope
from catalog.models import Change, ChangeStatus, Record

REVIEW_TABLE_LIMIT = 500


def artifact_key(*parts: object) -> str:
    """A Prefect artifact key (lowercase letters, digits, dashes) from free-form parts."""
    text = "-".join(str(p) for p in parts if p not in (None, ""))
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def publish_run_summary(*, operation: str, catalog: str | None, summary: dict[str, Any]) -> UUID:
    """A markdown summary of a run: status, records, and per-stage counts."""
    lines = [
        f"# {operation} — {catalog or 'catalogue'}",
        "",
        f"**Status:** {summary.get('status', '?')} · **run:** {summary.get('run_id', '?')} · "
        f"**records:** {summary.get('records', '?')}",
        "",
    ]
    stages = {k: v for k, v in summary.items() if isinstance(v, dict) and k != "validation"}
    if stages:
        lines += ["| stage | counts |", "|---|---|"]
        for stage, counts in stages.items():
            shown = ", ".join(f"{key} {value}" for key, value in counts.items())
            lines.append(f"| {stage} | {shown} |")
    if summary.get("error"):
        lines += ["", f"**Error:** {summary['error']}"]
    return create_markdown_artifact(
        "\n".join(lines),
        key=artifact_key(operation, catalog, "summary"),
        description=f"Summary of {operation} run {summary.get('run_id', '')}",
    )


def publish_review_items(*, store_url: str, run_id: int, catalog: str | None) -> int:
    """A table of the run's changes waiting for a person (first 500); returns how many wait."""
    with session_scope(store_url) as session:
        rows = session.execute(
            select(
                Change.id,
                Record.external_id,
                Change.field,
                Change.old_value,
                Change.new_value,
                Change.confidence,
                Change.operation,
                Change.explanation,
            )
            .join(Record, Record.id == Change.record_id)
            .where(
                Change.run_id == run_id,
                Change.status == ChangeStatus.QUEUED_FOR_REVIEW.value,
            )
            .order_by(Change.confidence.desc(), Change.id)
        ).all()
    table = [
        {
            "change": change_id,
            "record": external_id,
            "field": field,
            "old": _short(old),
            "new": _short(new),
            "confidence": round(confidence, 3),
            "stage": stage,
            "why": _short(explanation),
        }
        for change_id, external_id, field, old, new, confidence, stage, explanation in rows[
            :REVIEW_TABLE_LIMIT
        ]
    ]
    if table:
        create_table_artifact(
            table,
            key=artifact_key(catalog, "review-items"),
            description=f"{len(rows)} change(s) of run {run_id} waiting for review",
        )
    return len(rows)


def publish_validation_report(*, catalog: str | None, markdown: str, success: bool) -> UUID:
    """The validation report as markdown: which expectations failed, on how many rows."""
    verdict = "passed" if success else "FAILED — nothing distributed"
    return create_markdown_artifact(
        markdown,
        key=artifact_key(catalog, "validation-report"),
        description=f"Validation {verdict}",
    )


def publish_quality_page(*, catalog: str | None, path: str) -> UUID:
    """A link to the Analyse page written as a file (charts and tables, opens offline)."""
    from pathlib import Path

    return create_link_artifact(
        Path(path).resolve().as_uri(),
        link_text=f"Data-quality page of {catalog or 'the catalogue'} (HTML)",
        key=artifact_key(catalog, "quality-page"),
        description="The Analyse page as a file: completeness, confidence per field, "
        "reliability from review decisions, the review queue over time, validation failures.",
    )


class RunProgress:
    """A progress artifact advanced once per finished batch (so the UI shows how far a long
    run is); ``total`` grows as stages plan their batches."""

    def __init__(self, *, catalog: str | None, operation: str) -> None:
        self.done = 0
        self.total = 0
        self._id = create_progress_artifact(
            0.0,
            key=artifact_key(catalog, operation, "progress"),
            description=f"{operation} progress",
        )

    def plan(self, steps: int) -> None:
        self.total += steps

    def advance(self, steps: int = 1) -> None:
        self.done += steps
        percent = 100.0 * self.done / self.total if self.total else 100.0
        update_progress_artifact(self._id, min(percent, 100.0))

    def finish(self) -> None:
        update_progress_artifact(self._id, 100.0)


def _short(value: Any, limit: int = 120) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
