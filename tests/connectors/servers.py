"""Real local servers for connector tests.

`LocalApi` answers HTTP requests from a handler function and records them. `FaultProxy` sits
between a client library and a local service (moto, bqemulator) and forwards every request
unchanged, except that it can answer the next N requests with an error status first, or refuse
a request without the expected Authorization header, as the real cloud endpoints do; the client
library runs unmodified, only its endpoint URL points here. `TcpFaultProxy` does the same for a
TCP service (PostgreSQL) by hanging up on the next N connections.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}


class FaultProxy:
    """A `LocalApi` that forwards every request to `upstream` unchanged, unless a failure is
    pending or the Authorization header fails `required_authorization`."""

    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.required_authorization: Callable[[str | None], bool] | None = None
        self.unauthorized_body = b'{"error": {"code": 401, "message": "Invalid Credentials"}}'
        self._api = LocalApi(self._forward)

    @property
    def url(self) -> str:
        return self._api.url

    @property
    def failures_served(self) -> int:
        return self._api.failures_served

    def fail_next(
        self,
        count: int,
        status: int = 503,
        body: bytes = b"Service Unavailable",
        headers: dict[str, str] | None = None,
    ) -> None:
        self._api.fail_next(count, status, body, headers)

    def stop(self) -> None:
        self._api.stop()

    def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        check = self.required_authorization
        if check is not None and not check(headers.get("Authorization")):
            return 401, {"Content-Type": "application/json"}, self.unauthorized_body
        upstream = http.client.HTTPConnection(
            self.upstream.hostname, self.upstream.port, timeout=60
        )
        sent = {k: v for k, v in headers.items() if k.lower() not in HOP_HEADERS}
        upstream.request(method, path, body=body, headers=sent)
        response = upstream.getresponse()
        data = response.read()
        answer = {
            k: v
            for k, v in response.getheaders()
            if k.lower() not in HOP_HEADERS and k.lower() != "content-length"
        }
        upstream.close()
        return response.status, answer, data


@contextmanager
def fault_proxy(upstream: str) -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream)
    try:
        yield proxy
    finally:
        proxy.stop()


class LocalApi:
    """A small real HTTP server whose answers come from a handler function; it records every
    request and can answer the next N with an error first (as FaultProxy does)."""

    def __init__(
        self, handle: Callable[[str, str, dict[str, str], bytes], tuple[int, dict[str, str], bytes]]
    ) -> None:
        self.handle = handle
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.failures_served = 0
        self._pending: list[tuple[int, bytes, dict[str, str]]] = []
        self._lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.title(): v for k, v in self.headers.items()}  # one spelling
                with api._lock:
                    api.requests.append((self.command, self.path, headers, body))
                    failure = api._pending.pop(0) if api._pending else None
                    if failure is not None:
                        api.failures_served += 1
                if failure is not None:
                    status, data, extra = failure
                else:
                    status, extra, data = api.handle(self.command, self.path, headers, body)
                self.send_response(status)
                for key, value in extra.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def fail_next(
        self,
        count: int,
        status: int = 503,
        body: bytes = b"busy",
        headers: dict[str, str] | None = None,
    ) -> None:
        with self._lock:
            self._pending.extend([(status, body, headers or {})] * count)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class TcpFaultProxy:
    """A TCP relay to a real server (PostgreSQL) that hangs up on the next N connections
    straight away, as a server restarting or a flaky network would."""

    def __init__(self, host: str, port: int) -> None:
        import socket

        self._upstream = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.dropped = 0
        self._to_drop = 0
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def drop_next(self, count: int) -> None:
        with self._lock:
            self._to_drop += count

    def stop(self) -> None:
        self._closed = True
        self._listener.close()

    def _accept(self) -> None:
        import socket

        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                drop = self._to_drop > 0
                if drop:
                    self._to_drop -= 1
                    self.dropped += 1
            if drop:
                client.close()
                continue
            upstream = socket.create_connection(self._upstream)
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(source, target), daemon=True).start()


def _pipe(source: Any, target: Any) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, target):
            try:
                end.close()
            except OSError:
                pass
