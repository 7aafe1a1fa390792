"""One organization's slow webhook receivers do not delay another organization's deliveries:
the API's sender (and the change-event flow's) keeps a queue per organization and sends them in
turn, at most two of one organization at once. Real local HTTP servers: one that hangs, one
that answers and checks the signature."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import sessionmaker

from api.webhooks import WebhookSender, enqueue
from catalog.db import get_engine, session_scope
from catalog.repository import get_or_create_organization
from catalog.webhooks.models import WebhookDelivery, WebhookSubscription
from tests.api.conftest import wait_for
from tests.fakes.webhook_receiver import Receiver, start_hanging, start_receiver

pytestmark = pytest.mark.usefixtures("allow_local_outbound")


@pytest.fixture
def hanging() -> Iterator[str]:
    with start_hanging() as url:
        yield url


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with start_receiver() as receiver:
        yield receiver


def _subscribe(session, org: str, url: str, secret: str) -> tuple[int, int]:
    organization = get_or_create_organization(session, name=org)
    sub = WebhookSubscription(organization_id=organization.id, url=url, secret=secret, events=[])
    session.add(sub)
    session.flush()
    return organization.id, sub.id


def test_a_stalled_organization_does_not_delay_another(
    tmp_path: Path, hanging: str, receiver: Receiver
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    fast = receiver.endpoint("b", "b" * 20)
    with session_scope(url) as session:
        org_a, sub_a = _subscribe(session, "slow-org", hanging, "a" * 20)
        org_b, sub_b = _subscribe(session, "fast-org", fast, "b" * 20)
        slow_ids = [
            enqueue(
                session,
                organization_id=org_a,
                url=hanging,
                event="job.completed",
                payload={"n": n},
                subscription_id=sub_a,
            ).id
            for n in range(8)
        ]
        fast_id = enqueue(
            session,
            organization_id=org_b,
            url=fast,
            event="job.completed",
            payload={"n": "b"},
            subscription_id=sub_b,
        ).id
    sessions = sessionmaker(get_engine(url), expire_on_commit=False)
    # each slow delivery takes 2 attempts x 3 s before failing: queued behind them in one
    # shared pool of two threads, org B would wait 8 x 6 s / 2 = 24 s
    sender = WebhookSender(sessions, timeout=3.0, attempts=2, backoff=0.1)
    try:
        sender.dispatch(slow_ids)
        time.sleep(0.3)  # org A's deliveries are on the wire and hanging
        started = time.monotonic()
        sender.dispatch([fast_id])
        while not receiver.bodies(fast) and time.monotonic() - started < 8:
            time.sleep(0.02)
        waited = time.monotonic() - started
        assert receiver.bodies(fast) == [
            {"id": fast_id, "event": "job.completed", "data": {"n": "b"}}
        ]
        assert waited < 4, f"org B's delivery waited {waited:.2f}s behind org A's"

        def statuses() -> dict[int, str]:
            with session_scope(url) as session:
                return {d.id: d.status for d in session.query(WebhookDelivery)}

        wait_for(lambda: statuses()[fast_id] == "delivered", timeout=5)
        assert all(statuses()[i] != "delivered" for i in slow_ids)  # A is still stalled
        assert receiver.refused == []
    finally:
        sender.shutdown(wait=False)


def test_one_organization_has_at_most_two_deliveries_in_flight() -> None:
    from catalog.webhooks.dispatch import FairDispatcher

    in_flight: dict[str, int] = {"a": 0, "b": 0}
    done: dict[str, int] = {"a": 0, "b": 0}
    peak: dict[str, int] = {"a": 0, "b": 0}
    lock = threading.Lock()
    gate = threading.Event()

    def send(item: int) -> None:
        key = "a" if item < 100 else "b"
        with lock:
            in_flight[key] += 1
            peak[key] = max(peak[key], in_flight[key])
        if key == "a":
            gate.wait(5)
        with lock:
            in_flight[key] -= 1
            done[key] += 1

    dispatcher = FairDispatcher(send, workers=6, per_key=2)
    for n in range(10):
        dispatcher.submit("a", n)
    for n in range(100, 104):
        dispatcher.submit("b", n)
    wait_for(lambda: done["b"] == 4, timeout=5)  # b all done while a hangs
    assert peak["a"] == 2 and in_flight["a"] == 2 and done["a"] == 0 and peak["b"] <= 2
    gate.set()
    assert dispatcher.join(timeout=10)
    dispatcher.shutdown()
