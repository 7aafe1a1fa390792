"""Change subscriptions over `/api/webhooks`: modes and their checks, what the list shows, and
that a subscription made over the API receives its organization's approved changes."""

from __future__ import annotations

from sqlalchemy.orm import sessionmaker

from catalog.changes import ChangeFilter, approve
from catalog.db import get_engine, session_scope
from catalog.webhooks.change_delivery import deliver_change_events
from tests.api.conftest import Api, assert_error
from tests.catalog.test_change_webhooks import _queue_changes
from tests.fakes.webhook_receiver import start_receiver


def test_modes_batch_only_change_events(api: Api) -> None:
    client = api.client()
    body = assert_error(
        client.post("/api/webhooks", json={"url": "https://x.example/h", "mode": "batched"}), 422
    )
    assert "name some in events" in body["detail"]
    assert_error(
        client.post(
            "/api/webhooks",
            json={"url": "https://x.example/h", "events": ["change.*"], "mode": "hourly"},
        ),
        422,
    )
    created = client.post(
        "/api/webhooks",
        json={
            "url": "https://x.example/h",
            "events": ["change.approved"],
            "mode": "batched",
            "batch_size": 50,
            "batch_seconds": 120,
            "catalogs": ["tools"],
        },
    )
    assert created.status_code == 201, created.text
    listed = client.get(f"/api/webhooks/{created.json()['id']}").json()
    assert {k: listed[k] for k in ("mode", "batch_size", "batch_seconds", "catalogs")} == {
        "mode": "batched",
        "batch_size": 50,
        "batch_seconds": 120,
        "catalogs": ["tools"],
    }
    assert listed["pending_changes"] == 0


def test_a_subscription_made_over_the_api_receives_its_organizations_approvals(api: Api) -> None:
    organization, key = api.new_key()
    client = api.client(key=key)
    with start_receiver() as receiver:
        url = receiver.endpoint("api", "a" * 32)
        made = client.post(
            "/api/webhooks", json={"url": url, "secret": "a" * 32, "events": ["change.approved"]}
        )
        assert made.status_code == 201, made.text
        with session_scope(api.store_url) as session:
            catalog_id = _queue_changes(session, organization)
        with session_scope(api.store_url) as session:
            approved = approve(session, where=ChangeFilter(catalog_id=catalog_id), reviewer="ann")
        sessions = sessionmaker(get_engine(api.store_url), expire_on_commit=False)
        deliver_change_events(sessions, backoff=0.01)

        bodies = receiver.bodies(url)
        assert sorted(b["data"]["change_id"] for b in bodies) == sorted(c.id for c in approved)
    log = client.get("/api/webhooks/deliveries", params={"event": "change.approved"}).json()
    assert log["count"] == len(approved)
    assert {d["status"] for d in log["data"]} == {"delivered"}
