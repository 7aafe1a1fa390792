"""The app's foundation through a real server: health, keys, the error shape, body limit,
webhook subscriptions with signed, retried, logged deliveries."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from catalog.signing import SignatureError, verify_signature
from tests.api.conftest import Api, assert_error, wait_for


def test_health_needs_no_key(api: Api) -> None:
    response = api.anonymous().get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_openapi_is_served(api: Api) -> None:
    spec = api.anonymous().get("/openapi.json").json()
    assert "/api/webhooks" in spec["paths"]
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Bearer sk_0000000000000000_wrong"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ],
)
def test_missing_or_bad_key_is_401(api: Api, headers: dict[str, str]) -> None:
    response = httpx.get(f"{api.url}/api/webhooks", headers=headers)
    body = assert_error(response, 401, "UNAUTHORIZED")
    assert "key" in body["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_right_lookup_id_with_a_wrong_secret_is_401(api: Api) -> None:
    _, token = api.new_key()
    forged = token[: token.rindex("_") + 1] + "x" * 43
    assert_error(api.client(key=forged).get("/api/webhooks"), 401)
    assert api.client(key=token).get("/api/webhooks").status_code == 200


def test_revoked_key_is_401(api: Api) -> None:
    from api.keys import revoke_api_key
    from catalog.db import session_scope

    org, token = api.new_key()
    client = api.client(key=token)
    assert client.get("/api/webhooks").status_code == 200
    with session_scope(api.store_url) as session:
        revoke_api_key(session, organization=org, lookup_id=token.split("_")[1])
    assert_error(client.get("/api/webhooks"), 401)


def test_keys_are_stored_hashed(api: Api) -> None:
    from sqlalchemy import select

    from api.models import ApiKey
    from catalog.db import session_scope

    _, token = api.new_key()
    lookup_id, secret = token.split("_", 2)[1:]
    with session_scope(api.store_url) as session:
        row = session.scalar(select(ApiKey).where(ApiKey.lookup_id == lookup_id))
        assert secret not in row.secret_hash and len(row.secret_hash) == 64


def test_unknown_route_and_wrong_method_use_the_error_shape(api: Api) -> None:
    client = api.client()
    assert_error(client.get("/api/nothing-here"), 404, "NOT_FOUND")
    assert_error(client.put("/health"), 405, "METHOD_NOT_ALLOWED")


def test_validation_errors_name_the_field(api: Api) -> None:
    body = assert_error(api.client().post("/api/webhooks", json={"url": "not a url"}), 422)
    assert body["error"]["details"][0]["field"] == "url"
    assert body["detail"].startswith("url:")


def test_body_over_the_limit_is_413(api: Api) -> None:
    limit = api.app.state.settings.max_body_bytes
    big = b'{"url": "http://x.test", "pad": "' + b"a" * limit + b'"}'
    client = api.client()
    assert_error(
        client.post("/api/webhooks", content=big, headers={"Content-Type": "application/json"}),
        413,
        "PAYLOAD_TOO_LARGE",
    )

    def chunks():  # no Content-Length: counted as it streams in
        yield b'{"url": "http://x.test", "pad": "'
        for _ in range(limit // 65536 + 2):
            yield b"a" * 65536
        yield b'"}'

    assert_error(
        client.post(
            "/api/webhooks", content=chunks(), headers={"Content-Type": "application/json"}
        ),
        413,
    )


class _Receiver:
    """A local webhook endpoint: answers with the queued status codes, records requests."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _deliver(api: Api, client: httpx.Client, url: str, secret: str) -> dict:
    """Subscribe ``url`` and send one job notification through the app's sender."""
    from api.jobs import create_job
    from catalog.db import session_scope
    from catalog.models import Organization

    created = client.post("/api/webhooks", json={"url": url, "secret": secret})
    assert created.status_code == 201, created.text
    assert created.json()["secret"] == secret
    org_id = None
    with session_scope(api.store_url) as session:
        from catalog.webhooks.models import WebhookSubscription

        org_id = session.get(WebhookSubscription, int(created.json()["id"])).organization_id
        run = create_job(session, organization=session.get(Organization, org_id), operation="t")
        run_id = run.id
    api.app.state.jobs.submit(
        run, lambda ctx: {"completed": 1}, on_finish=api.app.state.on_job_finish
    )

    def finished():
        data = client.get("/api/webhooks/deliveries").json()["data"]
        done = [d for d in data if d["job_id"] == run_id and d["status"] in ("delivered", "failed")]
        return done[0] if done else None

    return wait_for(finished)


def test_webhook_is_signed_retried_and_logged(api: Api) -> None:
    receiver = _Receiver([500, 503, 200])
    secret = "s" * 24
    try:
        delivery = _deliver(api, api.client(), receiver.url, secret)
    finally:
        receiver.close()
    assert delivery["status"] == "delivered"
    assert delivery["attempts"] == 3
    assert delivery["response_status"] == 200
    assert delivery["event"] == "job.completed"
    headers, body = receiver.requests[-1]
    verify_signature(
        secret,
        body,
        timestamp=headers["X-Skuflow-Timestamp"],
        signature=headers["X-Skuflow-Signature"],
    )
    with pytest.raises(SignatureError):
        verify_signature(
            "wrong" * 5,
            body,
            timestamp=headers["X-Skuflow-Timestamp"],
            signature=headers["X-Skuflow-Signature"],
        )
    sent = json.loads(body)
    assert sent["event"] == "job.completed" and sent["data"]["status"] == "completed"


def test_webhook_refused_with_4xx_is_not_retried(api: Api) -> None:
    receiver = _Receiver([410])
    try:
        delivery = _deliver(api, api.client(), receiver.url, "t" * 24)
    finally:
        receiver.close()
    assert delivery["status"] == "failed"
    assert delivery["attempts"] == 1
    assert delivery["last_error"] == "HTTP 410"


def test_webhooks_of_another_organization_are_404(api: Api) -> None:
    owner, intruder = api.client(), api.client()
    hook = owner.post("/api/webhooks", json={"url": "http://127.0.0.1:9/x"}).json()
    assert_error(intruder.get(f"/api/webhooks/{hook['id']}"), 404)
    assert_error(intruder.delete(f"/api/webhooks/{hook['id']}"), 404)
    assert intruder.get("/api/webhooks").json()["count"] == 0
    assert owner.get(f"/api/webhooks/{hook['id']}").status_code == 200
    assert owner.delete(f"/api/webhooks/{hook['id']}").status_code == 204
    assert_error(owner.get(f"/api/webhooks/{hook['id']}"), 404)


def test_signature_replay_window() -> None:
    from catalog.signing import sign

    body = b'{"a":1}'
    good = f"v1={sign('k', body, 1000)}"
    verify_signature("k", body, timestamp="1000", signature=good, now=1200)
    with pytest.raises(SignatureError, match="replay window"):
        verify_signature("k", body, timestamp="1000", signature=good, now=1400)
    with pytest.raises(SignatureError, match="does not match"):
        verify_signature("k", body + b" ", timestamp="1000", signature=good, now=1000)
