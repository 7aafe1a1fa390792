"""A deterministic local server speaking the OpenAI chat-completions (and embeddings) protocol.

Tests point the real `openai` client at it instead of a paid API. It records every request it
receives, answers through a responder the test supplies (a callable from the request body to
the answer object), and can be switched to misbehave: malformed JSON, slow answers (to exercise
timeouts) or HTTP 5xx.

    with LLMServer(responder=lambda body: {"category": "Tools"}) as server:
        settings = LLMSettings(base_url=server.base_url, model="test")
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

Responder = Callable[[dict[str, Any]], Any]
"""Request body -> answer. A str is sent as the message content verbatim; anything else is
sent JSON-encoded."""

EMBEDDING_DIMENSIONS = 16


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    """Header names lower-cased."""

    @property
    def schema(self) -> dict[str, Any] | None:
        """The JSON schema the client asked its answer to match, if any."""
        response_format = self.body.get("response_format") or {}
        if response_format.get("type") == "json_schema":
            return response_format["json_schema"]["schema"]
        return response_format.get("schema")

    @property
    def user_text(self) -> str:
        return "\n".join(
            m["content"] for m in self.body.get("messages", []) if m.get("role") == "user"
        )


def example_for(schema: dict[str, Any]) -> Any:
    """The simplest value matching a JSON schema: first enum option, zero, empty string,
    objects with every required property. Enough for a default responder."""
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties", {})
        return {name: example_for(props.get(name, {})) for name in schema.get("required", props)}
    if kind == "array":
        return [example_for(schema.get("items", {}))] * int(schema.get("minItems", 0))
    if kind in ("number", "integer"):
        return schema.get("minimum", 0)
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return ""


def default_responder(body: dict[str, Any]) -> Any:
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        return example_for(response_format["json_schema"]["schema"])
    if response_format.get("type") == "json_object":
        return example_for(response_format.get("schema") or {"type": "object"})
    return "ok"


@dataclass
class LLMServer:
    """The server; start it with `start()` or a `with` block. Switches may be flipped between
    requests: `malformed` (content that is not JSON), `delay` (seconds before answering),
    `fail_status` (answer every request with this HTTP status; only the next `fail_times`
    requests when that is set, so a retry can succeed)."""

    responder: Responder = default_responder
    malformed: bool = False
    delay: float = 0.0
    fail_status: int | None = None
    fail_times: int | None = None
    requests: list[RecordedRequest] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _stopping: threading.Event = field(default_factory=threading.Event, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def base_url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def reset(self) -> None:
        """Forget recorded requests and turn every misbehaviour off."""
        with self._lock:
            self.requests.clear()
        self.malformed, self.delay, self.fail_status, self.fail_times = False, 0.0, None, None

    def start(self) -> LLMServer:
        handler = type("Handler", (_Handler,), {"owner": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # cut short any slow answer in progress
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> LLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _fails_now(self) -> bool:
        """Whether this request gets `fail_status` (counting down `fail_times`)."""
        with self._lock:
            if self.fail_status is None:
                return False
            if self.fail_times is None:
                return True
            if self.fail_times > 0:
                self.fail_times -= 1
                return True
            return False


class _Handler(BaseHTTPRequestHandler):
    owner: LLMServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # stdlib signature
        """Quiet: tests read `requests`, not stderr."""

    def do_POST(self) -> None:  # stdlib naming
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._send(400, {"error": {"message": "body is not JSON", "type": "invalid_request"}})
            return
        server = self.owner
        headers = {k.lower(): v for k, v in self.headers.items()}
        server._record(RecordedRequest(self.path, body, headers))
        if server.delay and server._stopping.wait(server.delay):
            return
        if server._fails_now():
            self._send(
                server.fail_status,
                {"error": {"message": "simulated failure", "type": "server_error"}},
            )
            return
        if self.path.rstrip("/").endswith("/chat/completions"):
            self._send(200, self._chat(body))
        elif self.path.rstrip("/").endswith("/embeddings"):
            self._send(200, _embeddings(body))
        else:
            self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

    def _chat(self, body: dict[str, Any]) -> dict[str, Any]:
        server = self.owner
        if server.malformed:
            content = '{"category": "unterminated'
        else:
            answer = server.responder(body)
            content = answer if isinstance(answer, str) else json.dumps(answer)
        prompt = sum(len(m.get("content", "").split()) for m in body.get("messages", []))
        completion = len(content.split())
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]
        return {
            "id": f"chatcmpl-{digest}",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model", "test"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _embeddings(body: dict[str, Any]) -> dict[str, Any]:
    """Deterministic unit vectors from a hash of each input: equal texts, equal vectors."""
    inputs = body.get("input", [])
    if isinstance(inputs, str):
        inputs = [inputs]
    data = []
    for index, text in enumerate(inputs):
        seed = int.from_bytes(hashlib.sha256(str(text).encode()).digest()[:8], "little")
        vector = np.random.default_rng(seed).standard_normal(EMBEDDING_DIMENSIONS)
        vector /= np.linalg.norm(vector)
        data.append({"object": "embedding", "index": index, "embedding": vector.tolist()})
    tokens = sum(len(str(t).split()) for t in inputs)
    return {
        "object": "list",
        "data": data,
        "model": body.get("model", "test"),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
