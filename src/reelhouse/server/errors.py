"""The one table from domain errors to HTTP: status codes and Mux error JSON.

Every surface's handlers raise ``reelhouse.errors.*``; this module alone turns them into
responses. Request validation failures become ``400 invalid_parameters`` naming the field;
anything unexpected becomes a logged ``500 internal_error`` that reveals nothing.
"""

from __future__ import annotations

from typing import Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from reelhouse import errors
from reelhouse.logs import get_logger
from reelhouse.schemas.envelopes import error
from reelhouse.schemas.validation import messages

log = get_logger("reelhouse.server.errors")

STATUS: Final[dict[type[errors.ReelhouseError], int]] = {
    errors.InvalidParameters: 400,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Gone: 410,
    errors.TooLarge: 413,
    errors.RateLimited: 429,
    errors.Unavailable: 503,
    errors.ConfigError: 500,
}

_HTTP_TYPES: Final[dict[int, str]] = {
    400: "invalid_parameters",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}

WWW_AUTHENTICATE: Final = 'Basic realm="reelhouse"'


def status_for(exc: errors.ReelhouseError) -> int:
    """The HTTP status of a domain error (most specific class in the table wins)."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_response(exc: Exception) -> JSONResponse:
    """The Mux-shaped response for ``exc``. Unexpected exceptions are logged and answered 500
    without detail; ``Unauthorized`` carries ``WWW-Authenticate``."""
    if isinstance(exc, errors.ReelhouseError):
        status = status_for(exc)
        headers = {"WWW-Authenticate": WWW_AUTHENTICATE} if status == 401 else None
        if status == 500:
            log.error("http.domain_error", code=exc.code, message=exc.message)
            return JSONResponse(error("internal_error", "Internal server error"), status_code=500)
        return JSONResponse(error(exc.code, exc.message), status_code=status, headers=headers)
    if isinstance(exc, RequestValidationError):
        return JSONResponse(error("invalid_parameters", *messages(exc.errors())), status_code=400)
    if isinstance(exc, StarletteHTTPException):
        kind = _HTTP_TYPES.get(exc.status_code, "error")
        return JSONResponse(
            error(kind, str(exc.detail)),
            status_code=exc.status_code,
            headers=dict(exc.headers) if exc.headers else None,
        )
    log.exception("http.unexpected_error", error_type=type(exc).__name__)
    return JSONResponse(error("internal_error", "Internal server error"), status_code=500)


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    return error_response(exc)


def install_error_handlers(app: FastAPI) -> None:
    """Route every error ``app`` can raise through :func:`error_response`."""
    app.add_exception_handler(errors.ReelhouseError, _handle)
    app.add_exception_handler(RequestValidationError, _handle)
    app.add_exception_handler(StarletteHTTPException, _handle)
    app.add_exception_handler(Exception, _handle)
