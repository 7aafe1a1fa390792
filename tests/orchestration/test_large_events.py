"""A failing run is announced however big its failure: Prefect's server refuses events over
1.5 MB (``EventTooLarge``), and a refused ``skuflow.run.failed`` leaves the automations that
wait for it silent. Events are read back from the (test harness) server's events API."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter

from catalog.db import session_scope
from catalog.events import MAX_CUT_TEXT, MAX_PAYLOAD_BYTES, bounded_payload, emit
from catalog.models import Run, RunStatus
from catalog.repository import MAX_ERROR_CHARS, finish_run, get_or_create_organization, start_run
from flows.support.run_events import emit_run_event

pytestmark = pytest.mark.usefixtures("prefect_harness")

HUGE = "row 17: price 'n/a' is not a number; " * 90_000  # ~3.3 MB, as a whole failing batch


def _events(name: str, since: datetime, marker: str) -> list[Any]:
    """Events ``name`` since ``since`` whose payload carries ``marker``, polled for a while:
    the server stores an event a moment after it receives it."""
    query = EventFilter(
        occurred=EventOccurredFilter(since=since), event=EventNameFilter(name=[name])
    )
    deadline = time.monotonic() + 60
    with get_client(sync_client=True) as client:
        while True:
            found = [
                e
                for e in client.read_events(filter=query, limit=50).events
                if e.payload.get("marker") == marker or str(e.payload.get("run_id")) == marker
            ]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.5)


def test_an_event_with_a_huge_payload_arrives_cut_and_says_so() -> None:
    since, marker = datetime.now(UTC), uuid.uuid4().hex

    @flow
    def announce() -> None:
        emit(
            "skuflow.test.huge",
            resource={"prefect.resource.id": f"skuflow.test.{marker}"},
            payload={"marker": marker, "error": HUGE, "counts": {"records": 3}},
        )

    announce()
    (event,) = _events("skuflow.test.huge", since, marker)
    assert event.payload["cut"] == ["error"]
    assert event.payload["error"].startswith(HUGE[:MAX_CUT_TEXT])
    assert "characters, cut" in event.payload["error"]
    assert event.payload["counts"] == {"records": 3}  # what fits is untouched


def test_a_run_failed_with_a_huge_error_is_announced(store_url: str) -> None:
    since = datetime.now(UTC)
    with session_scope(store_url) as session:
        org = get_or_create_organization(session, name=f"org-{uuid.uuid4().hex[:6]}")
        run = start_run(session, organization=org, catalog=None, operation="onboard")
        finish_run(session, run_id=run.id, status=RunStatus.FAILED, error=HUGE)
        run_id = run.id
    with session_scope(store_url) as session:
        stored = session.get(Run, run_id).error
    assert stored.startswith(HUGE[:MAX_ERROR_CHARS]) and len(stored) == MAX_ERROR_CHARS + 1

    @flow
    def fail_loudly() -> None:
        emit_run_event("failed", store_url=store_url, run_id=run_id)

    fail_loudly()
    (event,) = _events("skuflow.run.failed", since, str(run_id))
    assert event.payload["status"] == "failed"
    assert event.payload["error"] == stored


def test_a_payload_within_the_limit_is_left_as_it_is() -> None:
    payload = {"run_id": 1, "counts": {"records": 100_000}, "error": "x" * 10_000}
    assert bounded_payload(payload) is payload
    many = {f"k{i}": "v" * 100_000 for i in range(5)}  # 500 kB: cutting three brings it under
    bounded = bounded_payload(many)
    assert len(bounded["cut"]) == 3
    assert [bounded[k] for k in sorted(set(many) - set(bounded["cut"]))] == ["v" * 100_000] * 2
    assert len(json.dumps(bounded)) <= MAX_PAYLOAD_BYTES
