"""Flow `review`: a review checkpoint for a run that queued changes — the branch the chain
takes when a stage (e.g. enrichment) leaves low-confidence values for a person.

Triggered by `skuflow.change.queued_for_review`; pauses until a reviewer answers the Prefect
UI form (approve all, approve above a confidence, reject) or the timeout policy applies.
Decides only that run's queued changes; re-running finds nothing left to decide.
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from pydantic.json_schema import SkipJsonSchema

from catalog.settings import get_settings, normalize_database_url
from flows.support.review_checkpoint import TimeoutPolicy, review_checkpoint
from flows.support.run_events import describe_run


@flow(name="review")
def review(
    run_id: SkipJsonSchema[int],
    stage: str | None = None,
    timeout_seconds: int = 86_400,
    on_timeout: TimeoutPolicy = "keep_queued",
    poll_seconds: int = 5,
    database_url: SkipJsonSchema[str | None] = None,
) -> dict[str, Any]:
    """Wait for a person to decide the changes run ``run_id`` queued (in ``stage`` if given).

    Args:
        run_id: the skuflow run whose queued changes to decide.
        stage: only that stage's changes (classify, enrich, …).
        timeout_seconds: how long to wait for a decision.
        on_timeout: fail, keep_queued (default: they wait for `skuflow review`) or reject.
    """
    store_url = normalize_database_url(database_url) if database_url else get_settings().store_url
    return review_checkpoint(
        store_url=store_url,
        run_id=run_id,
        catalog=describe_run(store_url, run_id)["catalog"],
        stage=stage,
        timeout_seconds=timeout_seconds,
        on_timeout=on_timeout,
        poll_seconds=poll_seconds,
    )
