"""Responses the upload front-ends share: errors as JSON a person can read, CORS applied."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

from reelhouse.ingest.cors import cors_headers
from reelhouse.ingest.errors import IngestError


def error_response(error: IngestError, extra: dict[str, str] | None = None) -> Response:
    body = json.dumps({"error": {"type": error.code, "messages": [error.message]}})
    headers = {**error.headers, **(extra or {})}
    return Response(body, status_code=error.status, headers=headers, media_type="application/json")


def with_cors(response: Response, request: Request, allowed: str | None) -> Response:
    preflight = request.method == "OPTIONS" and "access-control-request-method" in request.headers
    for name, value in cors_headers(
        allowed, request.headers.get("origin"), preflight=preflight
    ).items():
        response.headers[name] = value
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response
