"""A local webhook endpoint that checks skuflow's signature the way a receiver should.

Each path is one subscriber with its own secret (`endpoint(name, secret)`); a request whose
`X-Skuflow-Signature` does not verify against that secret and the raw body is answered 401 and
kept apart in `refused`. Accepted bodies are kept per path, parsed. Statuses queued in
`failures` are answered first (a receiver that is down, then recovers).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from catalog.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify_signature
from tests.fakes.server import JsonHandler, LocalServer


@dataclass
class Receiver:
    secrets: dict[str, str] = field(default_factory=dict)
    received: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    refused: list[tuple[str, str]] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)
    base_url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def endpoint(self, name: str, secret: str) -> str:
        path = f"/hooks/{name}"
        self.secrets[path] = secret
        return self.base_url + path

    def bodies(self, url: str) -> list[dict[str, Any]]:
        return list(self.received.get(url.removeprefix(self.base_url), []))

    def handle(self, path: str, headers: Any, body: bytes) -> int:
        with self.lock:
            if self.failures:
                return self.failures.pop(0)
            secret = self.secrets.get(path)
            if secret is None:
                return 404
            try:
                verify_signature(
                    secret,
                    body,
                    timestamp=headers.get(TIMESTAMP_HEADER),
                    signature=headers.get(SIGNATURE_HEADER),
                )
            except SignatureError as exc:
                self.refused.append((path, str(exc)))
                return 401
            self.received.setdefault(path, []).append(json.loads(body))
            return 200


class _Handler(JsonHandler):
    wbufsize = 1 << 16
    """Headers and body leave in one write: two small writes would wait out the client's
    delayed ACK (~40 ms a request), which is the receiver's cost, not the sender's."""

    def do_POST(self) -> None:  # stdlib name
        receiver: Receiver = self.server.state  # type: ignore[attr-defined]
        status = receiver.handle(self.path, self.headers, self.read_body())
        self.reply(status, {"ok": status == 200})


@contextmanager
def start_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    server = LocalServer(_Handler, receiver).start()
    receiver.base_url = server.url
    try:
        yield receiver
    finally:
        server.stop()


class _Hanging(JsonHandler):
    """Reads the request, then answers only once released: a stalled receiver."""

    def do_POST(self) -> None:  # stdlib name
        self.read_body()
        release: threading.Event = self.server.state  # type: ignore[attr-defined]
        release.wait(30)
        self.reply(200, {"ok": True})


@contextmanager
def start_hanging() -> Iterator[str]:
    """A receiver that never answers while the block runs; yields its URL."""
    release = threading.Event()
    server = LocalServer(_Hanging, release).start()
    try:
        yield server.url + "/slow"
    finally:
        release.set()
        server.stop()
