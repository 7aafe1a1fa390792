"""Webhook deliveries of catalogue changes on real SQLite and PostgreSQL, to a local receiver
that verifies every signature: one delivery per approved change, batches grouped by size and
time, scheduled ones only when flushed, each change event once, nothing lost when a run stops
half-way or the receiver is down, and every subscription kept to its own organization."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from catalog.changes import ChangeFilter, Proposal, approve, record_changes, reject, stage_basis
from catalog.db import get_engine, session_scope
from catalog.models import utcnow
from catalog.records import load_records, mark_stage, pending_record_ids, upsert_records
from catalog.repository import get_or_create_organization, upsert_catalog
from catalog.webhooks.change_delivery import deliver_change_events
from catalog.webhooks.models import WebhookChangeEvent, WebhookDelivery, WebhookSubscription
from catalog.webhooks.outbox import plan_deliveries
from tests.catalog.test_store import SCHEMA, _frame
from tests.fakes.webhook_receiver import Receiver, start_hanging, start_receiver

pytestmark = pytest.mark.usefixtures("allow_local_outbound")


@pytest.fixture(scope="module")
def receiver_server() -> Iterator[Receiver]:
    with start_receiver() as receiver:
        yield receiver


@pytest.fixture
def receiver(receiver_server: Receiver) -> Receiver:
    with receiver_server.lock:
        receiver_server.received.clear()
        receiver_server.refused.clear()
        receiver_server.failures.clear()
    return receiver_server


def _subscribe(session, org_name: str, url: str, secret: str, **options) -> int:
    org = get_or_create_organization(session, name=org_name)
    sub = WebhookSubscription(organization_id=org.id, url=url, secret=secret, **options)
    session.add(sub)
    session.flush()
    return sub.id


def _queue_changes(session, org_name: str = "acme") -> int:
    """Three records with a voltage proposal each waiting for review, and one applied."""
    org = get_or_create_organization(session, name=org_name)
    catalog_id = upsert_catalog(session, organization=org, schema=SCHEMA).id
    frame, hashes = _frame({"A1": "Drill 18V", "A2": "Saw 230V", "A3": "Fan 12V", "A4": "Lamp"})
    upsert_records(session, catalog_id=catalog_id, frame=frame, hashes=hashes, source="f")
    ids = pending_record_ids(session, catalog_id=catalog_id, stage="enrich", version="v1")
    batch = load_records(session, record_ids=ids)
    record_changes(
        session,
        catalog_id=catalog_id,
        schema=SCHEMA,
        proposals=[Proposal(i, "voltage", 10.0 + n, 0.7, "extract") for n, i in enumerate(ids[:3])]
        + [Proposal(ids[3], "voltage", 5.0, 0.95, "extract", sources=["https://x.example/4"])],
        current=batch.values,
        bases={rid: stage_basis(h, "v1") for rid, h in batch.hashes.items()},
        operation="enrich",
        run_id=None,
        model="extractor-v1",
    )
    bases = {r: stage_basis(h, "v1") for r, h in batch.hashes.items()}
    mark_stage(session, stage="enrich", bases=bases, run_id=None)
    return catalog_id


def _deliver(store_url: str, **options) -> dict[str, int]:
    sessions = sessionmaker(get_engine(store_url), expire_on_commit=False)
    return deliver_change_events(sessions, **{"backoff": 0.01, "attempts": 2} | options).as_dict()


def test_per_change_and_batched_subscriptions_each_get_every_approval_once(
    store_url: str, receiver: Receiver
) -> None:
    each = receiver.endpoint("each", "s" * 20)
    grouped = receiver.endpoint("grouped", "g" * 20)
    other = receiver.endpoint("other-org", "o" * 20)
    with session_scope(store_url) as session:
        _subscribe(session, "acme", each, "s" * 20, events=["change.approved"])
        _subscribe(
            session, "acme", grouped, "g" * 20, events=["change.approved", "change.rejected"],
            mode="batched", batch_size=2, batch_seconds=3600,
        )  # fmt: skip
        _subscribe(session, "globex", other, "o" * 20, events=["change.*"])
        catalog_id = _queue_changes(session)
    with session_scope(store_url) as session:
        approved = approve(session, where=ChangeFilter(catalog_id=catalog_id), reviewer="ann")
        approved_ids = sorted(c.id for c in approved)

    first = _deliver(store_url)
    again = _deliver(store_url)

    deliveries = receiver.bodies(each)
    assert sorted(d["data"]["change_id"] for d in deliveries) == approved_ids
    assert {d["event"] for d in deliveries} == {"change.approved"}
    assert len({d["id"] for d in deliveries}) == 3
    one = deliveries[0]["data"]
    assert one["catalog"] == "tools" and one["field"] == "voltage" and one["status"] == "approved"
    assert one["provenance"] == {
        "operation": "enrich", "run_id": None, "provider": "extract", "model": "extractor-v1",
        "method": None, "sources": [], "explanation": None, "reviewer": "ann",
    }  # fmt: skip
    (batch,) = receiver.bodies(grouped)  # two of three: the third waits for its batch
    assert batch["event"] == "change.batch" and batch["data"]["count"] == 2
    assert [c["event"] for c in batch["data"]["changes"]] == ["change.approved"] * 2
    assert receiver.bodies(other) == [] and receiver.refused == []
    assert first["delivered"] == 4 and again["delivered"] == 0 and again["queued"] == 0

    with session_scope(store_url) as session:  # the third has now waited its batch_seconds
        session.execute(
            sa.update(WebhookChangeEvent).values(created_at=utcnow() - timedelta(hours=2))
        )
    _deliver(store_url)
    batches = receiver.bodies(grouped)
    assert [b["data"]["count"] for b in batches] == [2, 1]
    sent = [c["change_id"] for b in batches for c in b["data"]["changes"]]
    assert sorted(sent) == approved_ids


def test_scheduled_waits_for_its_deployment_and_every_earlier_event_is_implied(
    store_url: str, receiver: Receiver
) -> None:
    url = receiver.endpoint("nightly", "n" * 20)
    with session_scope(store_url) as session:
        catalog_id = _queue_changes(session)  # before the subscription: not sent
    with session_scope(store_url) as session:
        _subscribe(session, "acme", url, "n" * 20, events=["change.*"], mode="scheduled")
    with session_scope(store_url) as session:
        frame, hashes = _frame({"A5": "Heater 2000W", "A6": "Kettle"})
        upsert_records(session, catalog_id=catalog_id, frame=frame, hashes=hashes, source="f")
        ids = pending_record_ids(session, catalog_id=catalog_id, stage="enrich", version="v1")
        batch = load_records(session, record_ids=ids)
        record_changes(
            session, catalog_id=catalog_id, schema=SCHEMA,
            proposals=[Proposal(ids[0], "voltage", 230.0, 0.7, "extract"),
                       Proposal(ids[1], "voltage", 12.0, 0.97, "extract")],
            current=batch.values,
            bases={rid: stage_basis(h, "v1") for rid, h in batch.hashes.items()},
            operation="enrich", run_id=None,
        )  # fmt: skip
    with session_scope(store_url) as session:  # queued, then rejected before anyone looked
        reject(session, where=ChangeFilter(catalog_id=catalog_id), reviewer="bob")

    assert _deliver(store_url)["delivered"] == 0
    assert receiver.bodies(url) == []
    _deliver(store_url, flush_scheduled=True)

    (batch,) = receiver.bodies(url)
    events = sorted((c["record"], c["event"]) for c in batch["data"]["changes"])
    old = {"A1", "A2", "A3", "A4"}
    # queued before the subscription existed, rejected after: only the rejection is news
    assert [e for e in events if e[0] in old] == [
        ("A1", "change.rejected"), ("A2", "change.rejected"), ("A3", "change.rejected"),
    ]  # fmt: skip
    assert sorted(e for e in events if e[0] not in old) == [
        ("A5", "change.queued_for_review"), ("A5", "change.rejected"), ("A6", "change.applied"),
    ]  # fmt: skip


def test_a_run_stopped_after_planning_and_a_receiver_that_was_down_lose_nothing(
    store_url: str, receiver: Receiver
) -> None:
    url = receiver.endpoint("flaky", "f" * 20)
    with session_scope(store_url) as session:
        _subscribe(session, "acme", url, "f" * 20, events=["change.applied"])
        _queue_changes(session)
    sessions = sessionmaker(get_engine(store_url), expire_on_commit=False)
    from catalog.webhooks.outbox import collect_change_events

    with session_scope(store_url) as session:  # a run that planned, then died
        collect_change_events(session)
        planned = plan_deliveries(session)
    assert len(planned.delivery_ids) == 1 and receiver.bodies(url) == []

    receiver.failures.extend([503, 503])  # down for this run's two tries
    assert deliver_change_events(sessions, backoff=0.01, attempts=2).failed == 1
    assert deliver_change_events(sessions, backoff=0.01, attempts=2).delivered == 1
    assert _deliver(store_url) == {
        "queued": 0, "planned": 0, "events": 0, "delivered": 0, "failed": 0
    }  # fmt: skip
    (only,) = receiver.bodies(url)
    assert only["event"] == "change.applied" and only["data"]["record"] == "A4"
    assert only["data"]["provenance"]["sources"] == ["https://x.example/4"]
    with session_scope(store_url) as session:
        (logged,) = session.scalars(sa.select(WebhookDelivery)).all()
        assert (logged.status, logged.attempts) == ("delivered", 3)


def test_a_refused_endpoint_address_is_logged_not_called(
    store_url: str, receiver: Receiver
) -> None:
    from catalog.outbound import OutboundPolicy

    url = receiver.endpoint("inside", "i" * 20)
    with session_scope(store_url) as session:
        _subscribe(session, "acme", url, "i" * 20, events=["change.applied"])
        _queue_changes(session)
    report = _deliver(store_url, policy=OutboundPolicy())  # nothing opted in
    assert report["failed"] == 1 and receiver.bodies(url) == []
    with session_scope(store_url) as session:
        (logged,) = session.scalars(sa.select(WebhookDelivery)).all()
        assert logged.status == "failed" and "non-public address" in logged.last_error
        assert logged.last_error.startswith("refused by outbound policy")
        assert "/hooks/inside" not in logged.last_error
    assert _deliver(store_url)["failed"] == 0  # not tried again


def test_a_stalled_organization_does_not_hold_up_another_in_one_run(
    tmp_path,
    receiver: Receiver,
) -> None:
    """The flow's pass sends organizations in turn: org B's change arrives while org A's
    receiver hangs (sent one after another, B would wait for every A timeout)."""
    import threading
    import time

    store_url = f"sqlite:///{tmp_path / 'fair.db'}"
    fast = receiver.endpoint("fast", "b" * 20)
    with start_hanging() as slow:
        with session_scope(store_url) as session:
            _subscribe(session, "a-org", slow, "a" * 20, events=["change.*"])
            _queue_changes(session, "a-org")
            _subscribe(session, "b-org", fast, "b" * 20, events=["change.applied"])
            _queue_changes(session, "b-org")
        arrived: list[float] = []
        started = time.monotonic()

        def watch() -> None:
            while not receiver.bodies(fast) and time.monotonic() - started < 30:
                time.sleep(0.02)
            arrived.append(time.monotonic() - started)

        watcher = threading.Thread(target=watch)
        watcher.start()
        report = _deliver(store_url, timeout=2.0, attempts=1)
        watcher.join()
    assert report["delivered"] == 1 and report["failed"] == 4  # A: 3 queued + 1 applied
    assert arrived[0] < 2.0, f"org B waited {arrived[0]:.2f}s behind org A"
