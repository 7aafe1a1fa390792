"""Decisions made through the change API are announced to Prefect after they are committed:
`skuflow.change.approved|rejected|rolled_back`, read back from the (test harness) server,
naming the reviewer, the catalogue and the changes."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter

from tests.api.conftest import start_api
from tests.review_seed import seed_catalog

pytestmark = pytest.mark.usefixtures("prefect_harness")
NAMES = ["skuflow.change.approved", "skuflow.change.rejected", "skuflow.change.rolled_back"]


def _events(since: datetime, reviewer: str, expected: int) -> list[Any]:
    query = EventFilter(
        occurred=EventOccurredFilter(since=since), event=EventNameFilter(name=NAMES)
    )
    deadline = time.monotonic() + 60
    with get_client(sync_client=True) as client:
        while True:
            events = [
                e
                for e in client.read_events(filter=query, limit=50).events
                if e.payload.get("reviewer") == reviewer
            ]
            if len(events) >= expected or time.monotonic() > deadline:
                return events
            time.sleep(0.5)


def test_api_decisions_emit_events_after_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.settings import PREFECT_API_URL

    # The server thread does not share the harness's settings context; the environment it does.
    monkeypatch.setenv("PREFECT_API_URL", PREFECT_API_URL.value())
    api, server = start_api(f"sqlite:///{tmp_path / 'store.db'}", tmp_path)
    try:
        org, key = api.new_key()
        seed = seed_catalog(api.store_url, tmp_path / "reports", organization=org)
        client = api.client(key=key)
        reviewer = f"reviewer-{uuid.uuid4().hex[:8]}"
        since = datetime.now(UTC)
        base = f"/api/catalogs/{seed.catalog}"
        queued = seed.queued(api.store_url, operation="enrich")
        approve = client.post(f"{base}/changes/{queued[0].id}/approve", json={"reviewer": reviewer})
        reject = client.post(f"{base}/changes/{queued[1].id}/reject", json={"reviewer": reviewer})
        undo = client.post(
            f"{base}/rollback", json={"change_id": queued[0].id, "reviewer": reviewer}
        )
        assert [r.status_code for r in (approve, reject, undo)] == [200, 200, 200]
        # repeating a decision changes nothing and announces nothing
        client.post(f"{base}/changes/{queued[1].id}/reject", json={"reviewer": reviewer})

        events = _events(since, reviewer, expected=3)
        by_name = {e.event: e for e in events}
        assert sorted(by_name) == NAMES and len(events) == 3
        assert by_name["skuflow.change.approved"].payload["change_ids"] == [queued[0].id]
        assert by_name["skuflow.change.rejected"].payload["change_ids"] == [queued[1].id]
        assert by_name["skuflow.change.rolled_back"].payload["change_ids"] == [queued[0].id]
        for event in events:
            assert event.resource["skuflow.catalog"] == seed.catalog
            assert event.resource["skuflow.stage"] == "enrich"
    finally:
        for c in api.clients:
            c.close()
        server.stop()
