"""Run progress kept in the store, so a CLI, the API or another machine can follow a run."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from catalog.models import Run


def add_progress(session: Session, *, run_id: int, stage: str, counts: Mapping[str, int]) -> None:
    """Add a batch's counts to the run's totals for ``stage`` (e.g. classify.applied += 12).

    The run's row is locked FOR NO KEY UPDATE, not FOR UPDATE: a batch's change rows already
    hold a key-share lock on it (their foreign key), and two parallel batches each asking
    FOR UPDATE over the other's key-share lock deadlock on PostgreSQL."""
    run = session.get(Run, run_id, with_for_update={"key_share": True})
    if run is None:
        return
    totals = dict(run.counts or {})
    stage_totals = dict(totals.get(stage, {}))
    for key, value in counts.items():
        stage_totals[key] = stage_totals.get(key, 0) + int(value)
    totals[stage] = stage_totals
    run.counts = totals
