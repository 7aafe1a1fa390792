"""A local Slack incoming-webhook endpoint: `POST /services/<team>/<bot>/<secret>`.

It answers as Slack does: `ok` (text/plain) for a good message, `invalid_payload` (400) for a
body with neither text nor blocks, `invalid_token` (403) for an unknown secret, `no_service`
(404) for a revoked one, and whatever statuses are queued in `failures` (429 with Retry-After,
5xx) first. Accepted messages are kept per webhook path for tests to read back.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.server import JsonHandler, LocalServer


@dataclass
class FakeSlack:
    """Known webhooks, the messages they received, and failures to answer next."""

    webhooks: set[str] = field(default_factory=set)
    revoked: set[str] = field(default_factory=set)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    failures: list[tuple[int, str, dict[str, str]]] = field(default_factory=list)
    """(status, body, headers) answered to the next requests, in order."""
    base_url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def webhook(self, name: str) -> str:
        """Register a webhook and return its URL."""
        path = f"/services/T0SKUFLOW/B0{name.upper()}/{name}-secret"
        self.webhooks.add(path)
        return self.base_url + path

    def handle(self, path: str, body: bytes) -> tuple[int, str, dict[str, str]]:
        with self.lock:
            if self.failures:
                return self.failures.pop(0)
            if path in self.revoked:
                return 404, "no_service", {}
            if path not in self.webhooks:
                return 403, "invalid_token", {}
            try:
                message = json.loads(body)
            except ValueError:
                return 400, "invalid_payload", {}
            if not isinstance(message, dict) or not (message.get("text") or message.get("blocks")):
                return 400, "invalid_payload", {}
            self.messages.setdefault(path, []).append(message)
            return 200, "ok", {}

    def received(self, url: str) -> list[dict[str, Any]]:
        return self.messages.get(url.removeprefix(self.base_url), [])


class _Handler(JsonHandler):
    def do_POST(self) -> None:  # stdlib name
        slack: FakeSlack = self.server.state  # type: ignore[attr-defined]
        status, text, headers = slack.handle(self.path, self.read_body())
        self.reply(status, raw=text.encode(), headers=headers, content_type="text/plain")


@contextmanager
def start_slack() -> Iterator[FakeSlack]:
    """Serve a fake Slack; yields its state (its `webhook()` makes URLs)."""
    slack = FakeSlack()
    server = LocalServer(_Handler, slack).start()
    slack.base_url = server.url
    try:
        yield slack
    finally:
        server.stop()
