"""A run's start and end, told to Prefect: the run and change events, the summary and
review-items artifacts. Flows call these two functions, so every operation reports the same way.
"""

from __future__ import annotations

from typing import Any, Literal

from flows.support.artifacts import RunProgress, publish_review_items, publish_run_summary
from flows.support.run_events import describe_run, emit_change_events, emit_run_event


def announce_start(*, store_url: str, run_id: int) -> RunProgress:
    """Emit ``skuflow.run.started`` and open the run's progress artifact."""
    emit_run_event("started", store_url=store_url, run_id=run_id)
    run = describe_run(store_url, run_id)
    return RunProgress(catalog=run["catalog"], operation=run["operation"])


def announce_end(
    outcome: Literal["completed", "failed"],
    *,
    store_url: str,
    run_id: int,
    progress: RunProgress | None = None,
) -> dict[str, Any]:
    """Emit the run's change events (one per stage and status) and its completed/failed
    event, and publish the summary and the review-items table."""
    run = describe_run(store_url, run_id)
    if progress is not None and outcome == "completed":
        progress.finish()
    emit_change_events(store_url=store_url, run_id=run_id)
    publish_review_items(store_url=store_url, run_id=run_id, catalog=run["catalog"])
    summary = {"run_id": run_id, "status": run["status"], **run["counts"]}
    if run["error"]:
        summary["error"] = run["error"]
    publish_run_summary(operation=run["operation"], catalog=run["catalog"], summary=summary)
    emit_run_event(outcome, store_url=store_url, run_id=run_id)
    return summary
