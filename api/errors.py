"""One JSON error shape for every route family, and the exception that produces it.

Every error body is::

    {"detail": "<message>", "error": {"code": "<CODE>", "message": "<message>", "details": [...]}}

``detail`` is what FastAPI-style clients (the enrichment-jobs contract) read; ``error.code``
carries the machine-readable codes the task contract documents (``DATASET_LOCKED``, …).
Routers raise `ApiError` (or call the helpers); `install_error_handlers` renders it, request
validation errors and unknown routes in the same shape.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from catalog.errors import InputError, NotFound, SkuflowError, StateConflict

_DEFAULT_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_ERROR",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_ERROR",
}


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: list[Any] = []


class ErrorBody(BaseModel):
    """The one error shape (documented in the OpenAPI schema for every operation)."""

    detail: str
    error: ErrorDetail


COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing, unknown or revoked API key."},
    413: {"model": ErrorBody, "description": "Request body over the size limit."},
    422: {"model": ErrorBody, "description": "The request does not fit the contract."},
}


class ApiError(Exception):
    """An error a client can act on: HTTP status, stable code, message, optional details."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        code: str | None = None,
        details: list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.code = code or _DEFAULT_CODES.get(status_code, "ERROR")
        self.details = details or []
        self.headers = headers


def error_body(
    status_code: int, message: str, *, code: str | None = None, details: list[Any] | None = None
) -> dict[str, Any]:
    return {
        "detail": message,
        "error": {
            "code": code or _DEFAULT_CODES.get(status_code, "ERROR"),
            "message": message,
            "details": details or [],
        },
    }


def error_response(exc: ApiError) -> JSONResponse:
    return JSONResponse(
        error_body(exc.status_code, exc.message, code=exc.code, details=exc.details),
        status_code=exc.status_code,
        headers=exc.headers,
    )


def not_found(what: str, ident: object, *, code: str = "NOT_FOUND") -> ApiError:
    """404 for a missing id, and equally for one owned by another organization (never 403,
    so ids of other organizations cannot be probed)."""
    return ApiError(404, f"{what} {ident} not found", code=code)


def unauthorized(message: str) -> ApiError:
    return ApiError(401, message, headers={"WWW-Authenticate": "Bearer"})


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def _json_syntax(error: dict[str, Any], body: Any) -> dict[str, Any]:
    """A body that is not JSON: FastAPI puts the character offset where a field name goes
    (``field: "0"``); say where it is as line and column, and what the parser expected."""
    loc = error.get("loc", ())
    position = loc[-1] if loc and isinstance(loc[-1], int) else 0
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    cause = (error.get("ctx") or {}).get("error") or "not valid JSON"
    return {
        "field": "body",
        "message": f"not valid JSON at line {line}, column {column}: {cause}",
        "type": "json_invalid",
        "line": line,
        "column": column,
    }


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            _json_syntax(e, exc.body)
            if e.get("type") == "json_invalid"
            else {
                "field": _location(e.get("loc", ())),
                "message": e.get("msg", ""),
                "type": e.get("type"),
            }
            for e in exc.errors()
        ]
        first = details[0] if details else {"field": "body", "message": "invalid request"}
        message = f"{first['field']}: {first['message']}"
        if len(details) > 1:
            message += f" (and {len(details) - 1} more problem(s))"
        return JSONResponse(error_body(422, message, details=details), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        return JSONResponse(
            error_body(exc.status_code, message),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(InputError)
    async def _input(_request: Request, exc: InputError) -> JSONResponse:
        details = [
            {"source": p.source, "row": p.row, "field": p.column, "message": p.message}
            for p in exc.problems
        ]
        return JSONResponse(error_body(422, str(exc), details=details), status_code=422)

    @app.exception_handler(NotFound)
    async def _not_found(_request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse(error_body(404, str(exc)), status_code=404)

    @app.exception_handler(StateConflict)
    async def _state_conflict(_request: Request, exc: StateConflict) -> JSONResponse:
        return JSONResponse(error_body(409, str(exc)), status_code=409)

    @app.exception_handler(SkuflowError)
    async def _skuflow(_request: Request, exc: SkuflowError) -> JSONResponse:
        return JSONResponse(error_body(400, str(exc)), status_code=400)
