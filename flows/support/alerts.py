"""What a finished run tells Slack, read from the store: the run's own event (completed, failed,
halted, or the monitor's drift) and, when the run queued changes, the review queue's growth —
each with the per-record lines a `per_record` route lists."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.db import session_scope
from catalog.filters import RecordFilter
from catalog.models import Catalog, Change, ChangeStatus, Record, Run
from catalog.repository import catalog_schema
from connectors.slack import Event, review_queue_event, run_event
from flows.support.drift import drift_rows
from flows.support.runs import bind_filter

QUEUED = ChangeStatus.QUEUED_FOR_REVIEW.value


def alert_events(store_url: str, run_id: int, *, max_records: int = 1000) -> list[Event]:
    """The events a finished run announces, with up to ``max_records`` lines each."""
    with session_scope(store_url) as session:
        run = session.get(Run, run_id)
        if run is None:
            raise ValueError(f"no run {run_id} in the store")
        stored = session.get(Catalog, run.catalog_id) if run.catalog_id else None
        catalog = stored.name if stored else "(no catalogue)"
        event = run_event(run, catalog=catalog)
        if event.kind == "monitor_drift" and stored is not None:
            event.records.extend(_drift_lines(session, run, stored, max_records))
        elif event.kind == "run_halted":
            event.records.extend(_halt_lines(run.report_path, max_records))
        events = [event]
        queued_by_run = session.scalar(
            select(func.count()).where(Change.run_id == run_id, Change.status == QUEUED)
        )
        if queued_by_run and stored is not None:
            queue = session.scalar(
                select(func.count()).where(Change.catalog_id == stored.id, Change.status == QUEUED)
            )
            grew = review_queue_event(
                catalog=catalog,
                operation=run.operation,
                before=max((queue or 0) - queued_by_run, 0),
                after=queue or 0,
                records=_queued_lines(session, run_id, max_records),
            )
            if grew is not None:
                events.append(grew)
        return events


def _drift_lines(session: Session, run: Run, stored: Catalog, limit: int) -> list[str]:
    params = run.params or {}
    record_filter = None
    if params.get("record_filter"):
        record_filter = bind_filter(
            RecordFilter.model_validate(params["record_filter"]), catalog_schema(stored)
        )
    rows = drift_rows(
        session,
        run_id=run.id,
        fields=params.get("fields") or None,
        record_filter=record_filter,
        limit=limit,
    )
    return [f"{rid} {field}: {_show(old)} → {_show(new)}" for rid, field, old, new in rows]


def _queued_lines(session: Session, run_id: int, limit: int) -> list[str]:
    rows = session.execute(
        select(Record.external_id, Change.field, Change.new_value, Change.confidence)
        .join(Record, Record.id == Change.record_id)
        .where(Change.run_id == run_id, Change.status == QUEUED)
        .order_by(Change.id)
        .limit(limit)
    ).all()
    return [f"{rid} {field}: {_show(value)} ({conf:.2f})" for rid, field, value, conf in rows]


def _halt_lines(report_path: str | None, limit: int) -> list[str]:
    """The failed rules of the validation report, when this machine can read it."""
    if not report_path or not Path(report_path).is_file():
        return []
    try:
        report = json.loads(Path(report_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    lines = []
    for result in report.get("results", []):
        if result.get("success") or not result.get("blocking"):
            continue
        examples = ", ".join(str(e.get("id")) for e in result.get("examples", [])[:5])
        lines.append(
            f"{result.get('rule') or result.get('name')}: {result.get('unexpected_count', 0):,} "
            f"row(s)" + (f", e.g. {examples}" if examples else "")
        )
    return lines[:limit]


def _show(value: object) -> str:
    text = "∅" if value is None else str(value)
    return text if len(text) <= 80 else text[:77] + "…"
