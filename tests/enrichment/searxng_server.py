"""A local server answering as a self-hosted SearxNG instance does: `GET /search?q=…&format=json`
→ `{"query": …, "results": [{"url", "title", "content", "engine"}, …]}`; any other format is
refused with 403, as SearxNG does when `json` is not in its `search.formats`. Tests set the
results per query (`answers`) and read the queries asked (`queries`); `fail_status` makes
every search fail with that HTTP status."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class SearxngServer:
    answers: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    queries: list[dict[str, str]] = field(default_factory=list)
    fail_status: int | None = None
    _server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> SearxngServer:
        handler = type("Handler", (_Handler,), {"owner": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    owner: SearxngServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path != "/search":
            self._send(404, {"error": "not found"})
            return
        self.owner.queries.append(params)
        if self.owner.fail_status is not None:
            self._send(self.owner.fail_status, {"error": "simulated failure"})
        elif params.get("format") != "json":
            self._send(403, {"error": "format not allowed"})
        else:
            query = params.get("q", "")
            results = self.owner.answers.get(query, [])
            self._send(200, {"query": query, "number_of_results": len(results), "results": results})

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
