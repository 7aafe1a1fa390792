"""Request limits applied before any route runs: body size, JSON nesting depth, and text that
is not Unicode (a lone UTF-16 surrogate such as ``"\\udc00"``, valid JSON escape but no
character: no store, file or log can encode it, so it is refused at the door with a 422 naming
where it is, instead of failing a job later).

Both are ASGI middlewares, so a hostile body is refused before FastAPI or pydantic parse it
(a body nested 100,000 levels deep makes the standard parser raise `RecursionError`, and a
bare `RecursionError` would answer 500). The depth limit is `catalog.limits.MAX_NESTING`, the
same one every file reader applies.
"""

from __future__ import annotations

import json
import re
from typing import Any

from api.errors import ApiError, error_response
from catalog.limits import TooDeeplyNested, loads

Scope = dict[str, Any]


class BodySizeLimit:
    """Refuse request bodies over ``max_bytes`` with 413, whether or not the client sent a
    Content-Length (a chunked upload is counted as it arrives)."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = refused = False

        async def limited_receive() -> Any:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    if not started and not refused:
                        refused = True
                        await self._refuse(scope, receive, send)
                    raise _TooLarge
            return message

        async def tracked_send(message: Any) -> None:
            nonlocal started
            if refused:
                return  # the 413 went out; drop what the app answers to the aborted read
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracked_send)
        except _TooLarge:
            pass

    async def _refuse(self, scope: Scope, receive: Any, send: Any) -> None:
        response = error_response(ApiError(413, f"request body larger than {self.max_bytes} bytes"))
        await response(scope, receive, send)


class JsonNestingLimit:
    """Refuse JSON request bodies nested deeper than `catalog.limits.MAX_NESTING` with 422.

    Only bodies declared as JSON are read here (the body size limit runs first, so what is
    buffered is bounded); the body is then handed on unchanged. Bodies that are not valid JSON
    pass through, so the route answers them with its usual validation error.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not _declares_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message]), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        try:
            value = loads(body)
        except TooDeeplyNested as exc:
            response = error_response(ApiError(422, f"request body is {exc}"))
            await response(scope, receive, send)
            return
        except (json.JSONDecodeError, UnicodeDecodeError):
            pass
        else:
            where = lone_surrogate_at(value) if _SURROGATE_ESCAPE.search(body) else None
            if where is not None:
                message = (
                    f"{where or 'body'}: holds a lone UTF-16 surrogate (a \\ud800-\\udfff escape "
                    "without its pair), which is not a Unicode character; send valid text"
                )
                details = [{"field": where or "body", "message": message, "type": "unicode"}]
                response = error_response(ApiError(422, message, details=details))
                await response(scope, receive, send)
                return
        await self.app(scope, _replay([{"type": "http.request", "body": body}], receive), send)


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
"""A JSON escape of a surrogate code unit: the only way a decoded body can hold a lone one."""


def lone_surrogate_at(value: Any, path: str = "") -> str | None:  # any JSON
    """The path (``records[1].title``) of the first string or key holding a lone surrogate."""
    if isinstance(value, str):
        return path if _is_broken(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{_printable(key)}" if path else _printable(key)
            if _is_broken(key):
                return here
            found = lone_surrogate_at(item, here)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = lone_surrogate_at(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def _is_broken(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _printable(key: str) -> str:
    return key.encode("utf-8", "backslashreplace").decode("utf-8")


def _declares_json(scope: Scope) -> bool:
    if scope.get("method") not in ("POST", "PUT", "PATCH"):
        return False
    content_type = dict(scope.get("headers") or []).get(b"content-type", b"")
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or media.endswith(b"+json")


def _replay(messages: list[Any], then: Any = None) -> Any:
    """A `receive` that hands out ``messages`` first, then defers to ``then`` (disconnects)."""
    pending = list(messages)

    async def receive() -> Any:
        if pending:
            return pending.pop(0)
        if then is None:
            return {"type": "http.disconnect"}
        return await then()

    return receive


class _TooLarge(Exception):
    pass
