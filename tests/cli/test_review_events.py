"""`skuflow review approve|reject` announce their decisions to Prefect like the review checkpoint
does: `skuflow.change.approved|rejected` events, read back from the (test harness) server's
events API, naming the reviewer, the catalogue and how many changes were decided."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.events.filters import (
    EventFilter,
    EventNameFilter,
    EventOccurredFilter,
    EventResourceFilter,
)

from catalog.events import emit
from cli.main import app
from tests.cli.test_cli import _onboard, runner

pytestmark = pytest.mark.usefixtures("prefect_harness")

CATALOG = "acme-supplier-catalog"


def _decided(output: str) -> int:
    return int(re.search(r"(\d+) change\(s\)", output).group(1))


def _review_events(since: datetime, reviewer: str, *, expected: dict[str, int]) -> list[Any]:
    """The review events of ``reviewer`` since ``since``; polled until their counts add up to
    ``expected`` (or a minute passes), because the server stores events a moment after it
    receives them and one decision may be several events (one per run and stage)."""
    query = EventFilter(
        occurred=EventOccurredFilter(since=since),
        event=EventNameFilter(name=["skuflow.change.approved", "skuflow.change.rejected"]),
        resource=EventResourceFilter(labels={"skuflow.operation": ["review"]}),
    )
    deadline = time.monotonic() + 60
    with get_client(sync_client=True) as client:
        while True:
            events = [
                e
                for e in client.read_events(filter=query, limit=50).events
                if e.payload.get("reviewer") == reviewer
            ]
            if _counts(events) == expected or time.monotonic() > deadline:
                return events
            time.sleep(0.5)


def _counts(events: list[Any]) -> dict[str, int]:
    counts = {"approved": 0, "rejected": 0}
    for event in events:
        counts[event.event.removeprefix("skuflow.change.")] += event.payload["count"]
    return counts


def test_cli_approve_and_reject_emit_change_events(tmp_path: Path) -> None:
    since = datetime.now(UTC)
    assert _onboard(tmp_path / "out").exit_code == 0
    reviewer = f"reviewer-{uuid.uuid4().hex[:8]}"

    approved = runner.invoke(
        app, ["review", "approve", "--all", "--min-confidence", "0.8", "--reviewer", reviewer]
    )
    assert approved.exit_code == 0, approved.output
    rejected = runner.invoke(app, ["review", "reject", "--all", "--reviewer", reviewer])
    assert rejected.exit_code == 0, rejected.output
    n_approved, n_rejected = _decided(approved.output), _decided(rejected.output)
    assert n_approved > 0 and n_rejected > 0

    expected = {"approved": n_approved, "rejected": n_rejected}
    events = _review_events(since, reviewer, expected=expected)
    for event in events:
        assert event.resource["skuflow.catalog"] == CATALOG
        assert event.resource["skuflow.stage"] in ("classify", "enrich", "dedupe")
        assert len(event.payload["change_ids"]) == event.payload["count"]
    assert _counts(events) == expected


def test_outside_a_run_events_go_only_to_a_configured_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a server (the harness) the CLI's event is sent; with none configured (a CLI on a
    laptop) the decision still stands, and no throw-away server is started for an event nobody
    could hear."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    resource = {"prefect.resource.id": "skuflow.run.test"}
    assert emit("skuflow.test", resource=resource, payload={}) is not None
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        assert emit("skuflow.test", resource=resource, payload={}) is None
