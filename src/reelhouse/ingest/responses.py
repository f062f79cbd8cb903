"""Responses the upload front-ends share: errors as JSON a person can read, CORS applied."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

from reelhouse.ingest.cors import cors_headers
from reelhouse.ingest.errors import IngestError


class ErrorResponse(Response):
    """A refusal, carrying the error it reports so the mount can tell the hooks why."""

    def __init__(self, error: IngestError, headers: dict[str, str], body: str) -> None:
        super().__init__(
            body, status_code=error.status, headers=headers, media_type="application/json"
        )
        self.error = error


def error_response(error: IngestError, extra: dict[str, str] | None = None) -> ErrorResponse:
    body = json.dumps({"error": {"type": error.code, "messages": [error.message]}})
    return ErrorResponse(error, {**error.headers, **(extra or {})}, body)


def with_cors(response: Response, request: Request, allowed: str | None) -> Response:
    preflight = request.method == "OPTIONS" and "access-control-request-method" in request.headers
    for name, value in cors_headers(
        allowed, request.headers.get("origin"), preflight=preflight
    ).items():
        response.headers[name] = value
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response
