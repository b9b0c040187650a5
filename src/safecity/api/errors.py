"""Domain errors → RFC 9457 problem+json responses."""

from __future__ import annotations

from typing import Any, Final

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from safecity.core.errors import (
    AccountLocked,
    AuthenticationFailed,
    ConfigError,
    Conflict,
    DeviceAuthFailed,
    DeviceUnavailable,
    NotFound,
    PermissionDenied,
    ProtocolError,
    RateLimited,
    SafecityError,
    StoreUnavailable,
    ValidationFailed,
)

PROBLEM_JSON: Final = "application/problem+json"
_log = structlog.get_logger(__name__)

_STATUS: Final[list[tuple[type[SafecityError], int, str]]] = [
    (NotFound, 404, "Not Found"),
    (PermissionDenied, 403, "Forbidden"),
    (Conflict, 409, "Conflict"),
    (ValidationFailed, 422, "Unprocessable Content"),
    (AccountLocked, 423, "Locked"),
    (AuthenticationFailed, 401, "Unauthorized"),
    (RateLimited, 429, "Too Many Requests"),
    (StoreUnavailable, 503, "Service Unavailable"),
    (DeviceUnavailable, 503, "Service Unavailable"),
    (DeviceAuthFailed, 502, "Bad Gateway"),  # the device refused the platform's credentials
    (ProtocolError, 502, "Bad Gateway"),  # the device refused or garbled what we asked
    (ConfigError, 500, "Configuration Error"),
]


def problem(status: int, title: str, detail: str, request: Request, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    body["instance"] = request.url.path
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SafecityError)
    for kind, status, title in _STATUS:
        if isinstance(exc, kind):
            extra: dict[str, Any] = {}
            if isinstance(exc, ValidationFailed) and exc.field:
                extra["errors"] = [{"field": exc.field, "reason": str(exc)}]
            response = problem(status, title, str(exc), request, **extra)
            if isinstance(exc, RateLimited):
                response.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
            return response
    _log.error("api.unmapped_error", error=repr(exc), path=request.url.path)
    return problem(500, "Internal Server Error", "unexpected error", request)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": ".".join(str(p) for p in e["loc"][1:]) or str(e["loc"][0]), "reason": e["msg"]}
        for e in exc.errors()
    ]
    return problem(422, "Unprocessable Content", "request is not valid", request, errors=errors)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return problem(exc.status_code, str(exc.detail), str(exc.detail), request)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    _log.exception("api.unexpected_error", path=request.url.path, error=repr(exc))
    return problem(500, "Internal Server Error", "unexpected error", request)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(SafecityError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
