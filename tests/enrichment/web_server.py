"""A real HTTP server on 127.0.0.1 for the web provider and fetcher tests.

It serves the shared HTML samples under `/shared/...`, pages a test registers (`pages[path]`),
and misbehaving routes: `/redirect?to=<url>`, `/huge` (declares a 5 GB body and streams without
end), `/endless` (chunked, streams without end), `/slow/<x>` (answers after 0.2 s, tracking how many
are in flight), `/robots.txt` (settable). It counts every hit.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.conftest import SHARED_DATA
from tests.conftest import shared_path as _shared

HTML_ROOT = SHARED_DATA / "html"
FIVE_GB = 5 * 1024**3


@dataclass
class WebServer:
    pages: dict[str, str] = field(default_factory=dict)
    robots: str = "User-agent: *\nDisallow: /private/\n"
    hits: Counter[str] = field(default_factory=Counter)
    streamed: Counter[str] = field(default_factory=Counter)
    """Bytes sent per endless route before the client hung up."""
    in_flight: int = 0
    max_in_flight: int = 0
    """Most `/slow/...` requests served at the same time (per-host concurrency checks)."""
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def allow(self) -> tuple[str, ...]:
        """The fetcher opt-in for this server only (this port, not all of 127.0.0.1)."""
        return (f"127.0.0.1:{self.port}",)

    def url(self, path: str) -> str:
        """The address of `path`; a `/shared/...` sample skips the test, naming it, when
        `../shared/data/html` is not beside the clone."""
        if path.startswith("/shared/"):
            _shared(HTML_ROOT / path.removeprefix("/shared/").split("?", 1)[0])
        return self.origin + path

    def start(self) -> WebServer:
        handler = type("Handler", (_Handler,), {"owner": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> WebServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    owner: WebServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        self.owner.hits[path] += 1
        if path == "/robots.txt":
            self._send(200, self.owner.robots, "text/plain")
        elif path == "/redirect":
            target = parse_qs(parts.query)["to"][0]
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/huge":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(FIVE_GB))
            self.end_headers()
            self._stream(path, chunked=False)
        elif path == "/endless":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self._stream(path, chunked=True)
        elif path.startswith("/slow/"):
            owner = self.owner
            with owner._lock:
                owner.in_flight += 1
                owner.max_in_flight = max(owner.max_in_flight, owner.in_flight)
            owner._stop.wait(0.2)
            with owner._lock:
                owner.in_flight -= 1
            self._send(200, f"<p>{path}</p>", "text/html")
        elif path in self.owner.pages:
            self._send(200, self.owner.pages[path], "text/html; charset=utf-8")
        elif path.startswith("/shared/"):
            file = (HTML_ROOT / path.removeprefix("/shared/")).resolve()
            if HTML_ROOT.resolve() in file.parents and file.is_file():
                self._send(200, file.read_text(encoding="utf-8"), "text/html; charset=utf-8")
            else:
                self._send(404, "not found", "text/plain")
        else:
            self._send(404, "not found", "text/plain")

    def _stream(self, path: str, *, chunked: bool) -> None:
        block = b"<p>" + b"x" * 65_536 + b"</p>"
        try:
            while not self.owner._stop.is_set():
                if chunked:
                    self.wfile.write(f"{len(block):x}\r\n".encode() + block + b"\r\n")
                else:
                    self.wfile.write(block)
                self.owner.streamed[path] += len(block)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def _send(self, status: int, text: str, content_type: str) -> None:
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def shared_path(relative: str) -> Path:
    """A file of the shared HTML samples; skips the test, naming it, when absent."""
    return _shared(HTML_ROOT / relative)
