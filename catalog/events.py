"""What skuflow's Prefect events look like, and the one place they are emitted from.

The flows (run and change events, via ``flows.support.run_events``), the review checkpoint, the
CLI and the API all announce what happened to changes through this module, so an automation
matching ``skuflow.change.approved`` fires whoever approved. It lives in the domain because the
CLI and API must not reach into ``tasks``; Prefect is imported lazily so the store stays usable
without it.

Events are batched: one per (run, stage, change status) carrying counts and the change ids
(capped), never one per change — a 100k-record run would otherwise push 100k events through
the server's event pipeline.

Every event's resource is the run (``skuflow.run.<id>``) labelled with its operation and
catalogue, so a trigger can match ``skuflow.operation: onboard`` and template
``{{ event.resource['skuflow.catalog'] }}`` into the next deployment's parameters. Resource
labels are strings; the payload carries ``run_id`` as a number for integer parameters.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from catalog.models import Change

if TYPE_CHECKING:
    from prefect.events.schemas.events import Event

RUN_STARTED = "skuflow.run.started"
RUN_COMPLETED = "skuflow.run.completed"
RUN_FAILED = "skuflow.run.failed"
CHANGE_EVENT_PREFIX = "skuflow.change."
CHANGE_STATUSES = ("applied", "queued_for_review", "approved", "rejected")
MAX_IDS_PER_EVENT = 1000
MAX_PAYLOAD_BYTES = 256_000
"""An event's payload is cut to this size. Prefect's server refuses events over 1.5 MB by
default (``EventTooLarge``), and a refused ``skuflow.run.failed`` would leave a failing run
silent: the one event its automations wait for never arrives."""
MAX_CUT_TEXT = 2000

Decision = Literal["approved", "rejected", "rolled_back"]
"""What a person did to changes: approved or rejected queued ones, or rolled applied ones back."""


def run_resource(*, run_id: int | None, operation: str, catalog: str | None) -> dict[str, str]:
    """The Prefect resource a run's events are about."""
    resource = {
        "prefect.resource.id": f"skuflow.run.{run_id}",
        "prefect.resource.name": f"{operation} run {run_id}",
        "skuflow.run": str(run_id),
        "skuflow.operation": operation,
    }
    if catalog:
        resource["skuflow.catalog"] = catalog
    return resource


def emit(event: str, *, resource: dict[str, str], payload: dict[str, Any]) -> Event | None:
    """Send one event to the Prefect server.

    Inside a flow or task run it goes wherever the run reports to. Outside one (the CLI, the
    API) it is sent only when a server is configured (``PREFECT_API_URL``): without one nobody
    could react to it, and Prefect would start a throw-away server just to receive it.
    """
    if not _in_prefect_run() and not _api_url():
        return None
    from prefect.events import emit_event

    return emit_event(event=event, resource=resource, payload=bounded_payload(payload))


def bounded_payload(payload: dict[str, Any], *, limit: int = MAX_PAYLOAD_BYTES) -> dict[str, Any]:
    """``payload`` if it serialises within ``limit`` bytes; otherwise the same keys with the
    largest values cut, biggest first, until it fits: a text keeps its first
    ``MAX_CUT_TEXT`` characters, anything else becomes a note of its size. ``cut`` lists
    the keys that were cut; the whole value stays in the store (the run, its changes)."""

    def size(value: Any) -> int:
        return len(json.dumps(value, default=str))

    if size(payload) <= limit:
        return payload
    bounded = dict(payload)
    cut: list[str] = []
    for key in sorted(bounded, key=lambda k: size(bounded[k]), reverse=True):
        value = bounded[key]
        if isinstance(value, str):
            bounded[key] = value[:MAX_CUT_TEXT] + f"… ({len(value):,} characters, cut)"
        else:
            bounded[key] = f"({size(value):,} bytes, cut)"
        cut.append(key)
        if size({**bounded, "cut": cut}) <= limit:
            break
    bounded["cut"] = cut
    return bounded


def emit_change_event(
    status: str,
    *,
    run: dict[str, Any],
    stage: str,
    count: int,
    change_ids: list[int],
    confidence: tuple[float | None, float | None],
    extra: dict[str, Any] | None = None,
) -> Event | None:
    """``skuflow.change.<status>`` for ``count`` changes of one run's ``stage``."""
    resource = run_resource(
        run_id=run["run_id"], operation=run["operation"], catalog=run["catalog"]
    )
    resource["skuflow.stage"] = stage
    return emit(
        f"{CHANGE_EVENT_PREFIX}{status}",
        resource=resource,
        payload={
            "run_id": run["run_id"],
            "count": count,
            "change_ids": change_ids[:MAX_IDS_PER_EVENT],
            "truncated": count > len(change_ids[:MAX_IDS_PER_EVENT]),
            "min_confidence": confidence[0],
            "max_confidence": confidence[1],
            **(extra or {}),
        },
    )


def emit_decision_events(
    changes: Sequence[Change] | Iterable[Change],
    *,
    status: Decision,
    reviewer: str,
    catalog: str | None = None,
) -> list[Event]:
    """``skuflow.change.approved|rejected|rolled_back`` for changes a person decided on, one
    event per run and stage (the resource is the run that proposed them; ``operation`` is
    ``review``). Call it after the decision is committed, so a subscriber reads what it says."""
    grouped: dict[tuple[int | None, str], list[Change]] = {}
    for change in changes:
        grouped.setdefault((change.run_id, change.operation), []).append(change)
    events = []
    for (run_id, stage), members in grouped.items():
        event = emit_change_event(
            status,
            run={"run_id": run_id, "operation": "review", "catalog": catalog},
            stage=stage,
            count=len(members),
            change_ids=[c.id for c in members],
            confidence=(
                min(c.confidence for c in members),
                max(c.confidence for c in members),
            ),
            extra={"reviewer": reviewer, "catalog_id": members[0].catalog_id},
        )
        if event is not None:
            events.append(event)
    return events


def _in_prefect_run() -> bool:
    from prefect.context import FlowRunContext, TaskRunContext

    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def _api_url() -> str | None:
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or os.environ.get("PREFECT_API_URL") or None
