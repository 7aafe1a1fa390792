"""Review checkpoint inside a run: the run pauses until a person decides, in the Prefect UI's
form or with ``resume_flow_run(flow_run_id, run_input={...})``, what happens to the changes it
queued for review.

The checkpoint decides only the run's own queued changes; bulk review of the whole queue stays
with ``skuflow review`` and the API. What happens when nobody answers in time is a policy:
``fail`` (default: the run fails with a clear message, the changes stay queued for later
review), ``keep_queued`` (the run goes on; the changes wait), or ``reject`` (they are rejected).
"""

from __future__ import annotations

from typing import Any, Literal

from prefect import get_run_logger
from prefect.client.orchestration import get_client
from prefect.context import FlowRunContext
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from prefect.states import Running
from pydantic import Field

from catalog.changes import ChangeFilter, approve, reject
from catalog.db import session_scope
from catalog.errors import SkuflowError
from catalog.events import emit_decision_events
from catalog.models import ChangeStatus
from flows.support.artifacts import publish_review_items

TimeoutPolicy = Literal["fail", "keep_queued", "reject"]
TIMEOUT_POLICIES: tuple[str, ...] = ("fail", "keep_queued", "reject")


class ReviewDecision(RunInput):
    """The reviewer's decision on the changes this run queued (shown as a form in the UI)."""

    action: Literal["approve_all", "approve_above", "reject_all"] = Field(
        "approve_above",
        description="approve_all, approve_above (min_confidence; the rest stay queued) "
        "or reject_all.",
    )
    min_confidence: float = Field(
        0.8, ge=0.0, le=1.0, description="For approve_above: approve changes at or above this."
    )
    reviewer: str = Field("prefect-ui", description="Who decided, recorded on every change.")


class ReviewTimedOut(SkuflowError):
    """Nobody decided within the checkpoint's timeout and the policy is to fail."""

    def __init__(self, *, run_id: int, waiting: int, timeout_seconds: int) -> None:
        super().__init__(
            f"review checkpoint of run {run_id} timed out after {timeout_seconds} s with "
            f"{waiting} change(s) undecided; they stay queued for `skuflow review`"
        )


def review_checkpoint(
    *,
    store_url: str,
    run_id: int,
    catalog: str | None,
    stage: str | None = None,
    timeout_seconds: int = 3600,
    on_timeout: TimeoutPolicy = "fail",
    poll_seconds: int = 5,
) -> dict[str, Any]:
    """Pause the calling flow run until the run's queued changes are decided.

    Returns:
        ``{"waiting", "decision", "approved", "rejected"}``; no pause when nothing waits.

    Raises:
        ReviewTimedOut: on timeout when ``on_timeout`` is ``fail``.
    """
    if on_timeout not in TIMEOUT_POLICIES:
        raise ValueError(f"on_timeout must be one of {TIMEOUT_POLICIES}, not '{on_timeout}'")
    logger = get_run_logger()
    waiting = publish_review_items(store_url=store_url, run_id=run_id, catalog=catalog)
    if waiting == 0:
        return {"waiting": 0, "decision": "none", "approved": 0, "rejected": 0}
    logger.info("Run %s: %s change(s) wait for review; pausing.", run_id, waiting)
    try:
        decision = pause_flow_run(
            wait_for_input=ReviewDecision.with_initial_data(
                description=(
                    f"**{waiting} change(s)** from run {run_id} wait for review "
                    "(see the review-items artifact). Choose what to do with them."
                )
            ),
            timeout=timeout_seconds,
            poll_interval=poll_seconds,
            key=f"review-{run_id}-{stage or 'all'}",
        )
    except FlowPauseTimeout:
        if on_timeout == "fail":
            raise ReviewTimedOut(
                run_id=run_id, waiting=waiting, timeout_seconds=timeout_seconds
            ) from None
        _carry_on_after_timeout()
        logger.warning("Review of run %s timed out; policy %s.", run_id, on_timeout)
        if on_timeout == "keep_queued":
            return {"waiting": waiting, "decision": "timeout", "approved": 0, "rejected": 0}
        decision = ReviewDecision(action="reject_all", reviewer="timeout-policy")
    decided = apply_decision(
        store_url=store_url, run_id=run_id, stage=stage, decision=decision, catalog=catalog
    )
    return decided | {"waiting": waiting}


def apply_decision(
    *,
    store_url: str,
    run_id: int,
    stage: str | None,
    decision: ReviewDecision,
    catalog: str | None = None,
) -> dict[str, Any]:
    """Approve and/or reject the run's queued changes as decided, and emit the events once
    the decision is committed (as the CLI does)."""
    where = ChangeFilter(
        run_id=run_id,
        operation=stage,
        status=ChangeStatus.QUEUED_FOR_REVIEW.value,
        min_confidence=decision.min_confidence if decision.action == "approve_above" else None,
    )
    approved: list = []
    rejected: list = []
    with session_scope(store_url) as session:
        if decision.action == "reject_all":
            rejected = reject(session, where=where, reviewer=decision.reviewer)
        else:
            approved = approve(session, where=where, reviewer=decision.reviewer)
    emit_decision_events(approved, status="approved", reviewer=decision.reviewer, catalog=catalog)
    emit_decision_events(rejected, status="rejected", reviewer=decision.reviewer, catalog=catalog)
    return {"decision": decision.action, "approved": len(approved), "rejected": len(rejected)}


def _carry_on_after_timeout() -> None:
    """A timed-out pause leaves the run Paused on the server; put it back to Running so the
    flow can finish under the keep_queued/reject policy."""
    context = FlowRunContext.get()
    if context is None:
        return
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(context.flow_run.id, Running(), force=True)
