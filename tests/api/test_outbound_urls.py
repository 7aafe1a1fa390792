"""Webhook URLs meet the outbound URL policy twice: when subscribed (every family answers 422
naming the field and why) and when each delivery is sent (DNS answers change). A refused
delivery is logged as refused, never connected to, whatever the port."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.api.conftest import Api, assert_error, wait_for
from tests.fakes.webhook_receiver import start_receiver

INTERNAL_URLS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/",
    "http://[::1]:8080/hook",
    "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
    "http://[::a9fe:a9fe]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[2002:a9fe:a9fe::]/",
    "http://0.0.0.0:22/",
]
SCHEMA = [{"name": "colour", "type": "string", "description": "Colour"}]


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_every_family_refuses_an_internal_webhook_url(api: Api, url: str) -> None:
    client = api.client()
    https = url.replace("http://", "https://")
    for path, body in [
        ("/api/webhooks", {"url": url}),
        ("/api/v2/webhooks", {"url": url}),
        (
            "/api/public/enrich",
            {"items": [{"a": 1}], "output_schema": SCHEMA, "webhook_url": https},
        ),
    ]:
        error = assert_error(client.post(path, json=body), 422)
        assert "non-public address" in error["detail"], (path, error)
        assert error["error"]["details"][0]["field"].endswith("url"), error
    assert client.get("/api/webhooks").json()["count"] == 0


def test_a_name_resolving_to_an_internal_address_is_refused(api: Api) -> None:
    import ipaddress
    import socket

    name = socket.gethostname()
    try:
        address = ipaddress.ip_address(socket.gethostbyname(name))
    except OSError:
        pytest.skip(f"this machine's name {name} does not resolve")
    if address.is_global or str(address) == "127.0.0.1":
        pytest.skip(f"{name} resolves to {address}: not an internal address here")
    client = api.client()
    for path in ("/api/webhooks", "/api/v2/webhooks"):
        error = assert_error(client.post(path, json={"url": f"http://{name}:8080/h"}), 422)
        assert error["detail"].startswith(f"url: {name} resolves to {address}"), error


def _finish_a_job(client: httpx.Client) -> None:
    """A small synchronous enrich job: its end is a ``job.completed`` event."""
    response = client.post(
        "/api/public/enrich",
        json={"items": [{"name": "x"}], "output_schema": SCHEMA, "web_search": False},
    )
    assert response.status_code == 200, response.text


def test_a_delivery_is_checked_again_and_refused_unsent(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = api.client()
    with start_receiver() as receiver:
        open_port = receiver.endpoint("open", "o" * 20)
        closed_port = "http://127.0.0.1:9/hooks/closed"
        for url in (open_port, closed_port):
            created = client.post("/api/webhooks", json={"url": url, "secret": "o" * 20})
            assert created.status_code == 201, created.text
        # the address stops being allowed after subscribing (the opt-in goes, or DNS changes)
        monkeypatch.delenv("SKUFLOW_OUTBOUND_ALLOW")
        _finish_a_job(client)

        def refused() -> list[dict]:
            rows = client.get("/api/webhooks/deliveries").json()["data"]
            done = [d for d in rows if d["status"] == "failed"]
            return done if len(done) == 2 else []

        deliveries = wait_for(refused, timeout=30)
        assert receiver.bodies(open_port) == [] and receiver.refused == []
    errors = set()
    for delivery in deliveries:
        assert delivery["attempts"] == 1 and delivery["response_status"] is None
        assert delivery["last_error"].startswith("refused by outbound policy"), delivery
        errors.add(re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", delivery["last_error"]))
    assert len(errors) == 1  # an open and a closed port read the same
