"""A local product-page server for enrichment tests: real HTTP on 127.0.0.1, pages with
schema.org JSON-LD, and a gate a test can close to hold page requests (so a job stays running
for exactly as long as the test needs) and open to let them through."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BEARINGS = {
    "6205-2RS": {"bore": "25 mm", "outer": "52 mm", "width": "15 mm"},
    "6204-2RS": {"bore": "20 mm", "outer": "47 mm", "width": "14 mm"},
    "6206-2RS": {"bore": "30 mm", "outer": "62 mm", "width": "16 mm"},
}


def bearing_page(part: str) -> str:
    spec = BEARINGS[part]
    data = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": f"Deep Groove Ball Bearing {part}",
        "sku": part,
        "brand": {"@type": "Brand", "name": "SKF"},
        "additionalProperty": [
            {"@type": "PropertyValue", "name": "Bore diameter", "value": spec["bore"]},
            {"@type": "PropertyValue", "name": "Outer diameter", "value": spec["outer"]},
            {"@type": "PropertyValue", "name": "Width", "value": spec["width"]},
        ],
    }
    return (
        "<html><head><title>" + data["name"] + "</title>"
        '<script type="application/ld+json">' + json.dumps(data) + "</script></head>"
        "<body><h1>" + data["name"] + "</h1></body></html>"
    )


class PageServer:
    """Serves ``/products/bearings/<part>``; ``close_gate()`` holds those requests until
    ``open_gate()``. robots.txt is answered at once (404: everything allowed)."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.requests: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                owner.requests.append(self.path)
                part = self.path.rsplit("/", 1)[-1]
                if self.path == "/robots.txt" or part not in BEARINGS:
                    self.send_response(404)
                    self.end_headers()
                    return
                owner.gate.wait(timeout=120)
                body = bearing_page(part).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up waiting (a cancelled job's fetch timed out)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, part: str) -> str:
        return f"{self.base}/products/bearings/{part}"

    def close_gate(self) -> None:
        self.gate.clear()

    def open_gate(self) -> None:
        self.gate.set()

    def stop(self) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


class Receiver:
    """A local webhook endpoint that records every POST (lower-cased headers, raw body)."""

    def __init__(self, path: str = "/hooks") -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                owner.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{path}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def bodies(self) -> list[dict]:
        return [json.loads(body) for _, body in self.received]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
