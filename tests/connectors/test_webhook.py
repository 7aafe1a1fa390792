"""Webhook destination against a real local receiver that verifies every HMAC signature:
per-record and batched delivery, nothing sent on an aborted write, 503 retried, 4xx stops,
a re-run after a half-delivered commit completes it without duplicates."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from catalog.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify_signature
from connectors.base import TerminalConnectorError, TransientConnectorError
from connectors.webhook import DELIVERY_HEADER, WebhookDestination
from tests.connectors.helpers import product_rows
from tests.connectors.servers import LocalApi

SECRET = "whsec-test"


class Receiver:
    """Keeps each verified delivery once (by delivery id); refuses a bad signature with 401."""

    def __init__(self) -> None:
        self.deliveries: dict[str, dict[str, Any]] = {}
        self.refused = 0
        self.down_for_batch: int | None = None

    def __call__(self, method: str, path: str, headers: dict[str, str], body: bytes):
        try:
            verify_signature(
                SECRET,
                body,
                timestamp=headers.get(TIMESTAMP_HEADER),
                signature=headers.get(SIGNATURE_HEADER),
            )
        except SignatureError as exc:
            self.refused += 1
            return 401, {}, str(exc).encode()
        delivery = json.loads(body)
        if delivery["batch"] == self.down_for_batch:
            return 500, {}, b"receiver down"
        self.deliveries.setdefault(headers[DELIVERY_HEADER], delivery)
        return 204, {}, b""

    def rows(self) -> list[dict[str, Any]]:
        ordered = sorted(self.deliveries.values(), key=lambda d: d["batch"])
        return [row for delivery in ordered for row in delivery["rows"]]


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, LocalApi]]:
    state = Receiver()
    server = LocalApi(state)
    yield state, server
    server.stop()


def _send(hook: WebhookDestination, rows: list[dict[str, Any]]) -> Any:
    with hook.open(columns=["sku", "title", "price"], key="sku", mode="upsert") as writer:
        writer.write(rows)
        return writer.commit()


def test_batched_and_per_record_deliveries_are_signed_and_complete(
    receiver: tuple[Receiver, LocalApi],
) -> None:
    state, server = receiver
    rows = product_rows(25)
    result = _send(WebhookDestination(url=server.url, secret=SECRET, batch_size=10), rows)
    assert result.rows == 25 and "3 POSTs" in result.location
    assert state.rows() == rows and state.refused == 0

    state.deliveries.clear()
    _send(WebhookDestination(url=server.url, secret=SECRET, batch_size=1), rows[:4])
    assert len(state.deliveries) == 4 and state.rows() == rows[:4]


def test_an_aborted_write_sends_nothing(receiver: tuple[Receiver, LocalApi]) -> None:
    state, server = receiver
    hook = WebhookDestination(url=server.url, secret=SECRET)
    with (
        pytest.raises(RuntimeError, match="power cut"),
        hook.open(columns=["sku", "title", "price"], key="sku", mode="upsert") as writer,
    ):
        writer.write(product_rows(5))
        raise RuntimeError("power cut")
    assert server.requests == []


def test_a_wrong_secret_is_refused_terminally(receiver: tuple[Receiver, LocalApi]) -> None:
    state, server = receiver
    hook = WebhookDestination(url=server.url, secret="not-the-secret", attempts=3)
    with pytest.raises(TerminalConnectorError, match="credentials rejected") as raised:
        _send(hook, product_rows(2))
    assert f"webhook {server.url}" in str(raised.value)
    assert state.refused == 1 and state.deliveries == {}


def test_a_503_is_retried_and_delivery_completes(receiver: tuple[Receiver, LocalApi]) -> None:
    state, server = receiver
    server.fail_next(2, status=503)
    hook = WebhookDestination(url=server.url, secret=SECRET, batch_size=5, retry_base_seconds=0)
    _send(hook, product_rows(12))
    assert server.failures_served == 2
    assert state.rows() == product_rows(12)


def test_a_commit_stopped_half_way_completes_on_rerun_without_duplicates(
    receiver: tuple[Receiver, LocalApi],
) -> None:
    state, server = receiver
    hook = WebhookDestination(
        url=server.url, secret=SECRET, batch_size=5, attempts=2, retry_base_seconds=0
    )
    rows = product_rows(15)
    state.down_for_batch = 2  # the first batch arrives, the receiver fails on the second
    with pytest.raises(TransientConnectorError, match=r"500: receiver down \(after 1 batch"):
        _send(hook, rows)
    assert state.rows() == rows[:5]
    state.down_for_batch = None
    _send(hook, rows)  # the re-run sends all three; the first again, with the same delivery id
    assert state.rows() == rows and len(state.deliveries) == 3


def test_a_4xx_stops_at_once(receiver: tuple[Receiver, LocalApi]) -> None:
    state, server = receiver
    server.fail_next(1, status=410, body=b"subscription gone")
    hook = WebhookDestination(url=server.url, secret=SECRET, attempts=4)
    with pytest.raises(TerminalConnectorError, match="HTTP 410: subscription gone"):
        _send(hook, product_rows(3))
    assert len(server.requests) == 1
