"""Response building shared by every stream route: CORS, cache policy, errors, compressed text.

Everything under ``/stream/`` is readable cross-origin (``Access-Control-Allow-Origin: *``):
playback-core ``fetch()``es the manifests itself, and a player on another origin must read
``Content-Range`` and ``ETag``. Errors carry the same headers, or a browser would hide the
status mux-player needs to tell "not ready" from "not found".
"""

from __future__ import annotations

import functools
import gzip
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from reelhouse.delivery.errors import DeliveryError, status_for
from reelhouse.schemas.envelopes import error

CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Content-Length, Content-Range, ETag, Accept-Ranges",
}
PREFLIGHT = {
    **CORS,
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Range, If-None-Match, If-Range, If-Modified-Since",
    "Access-Control-Max-Age": "86400",
}
SHORT_CACHE = "public, max-age=10"
IMMUTABLE = "public, max-age=31536000, immutable"
NO_STORE = "no-store"
GZIP_MIN_SIZE = 256
GZIP_LEVEL = 6


def preflight() -> Response:
    """The answer to an ``OPTIONS`` preflight."""
    return Response(status_code=204, headers=PREFLIGHT)


async def answer(request: Request, handler: Callable[[Request], Awaitable[Response]]) -> Response:
    """Every delivery endpoint's frame: a preflight for ``OPTIONS``, else ``handler``'s
    answer, with a :class:`DeliveryError` it raises turned into Mux's error JSON."""
    if request.method == "OPTIONS":
        return preflight()
    try:
        return await handler(request)
    except DeliveryError as exc:
        return error_response(exc)


def error_response(exc: DeliveryError) -> JSONResponse:
    """Mux's error JSON with the status mux-player understands; never cached."""
    headers = {**CORS, "Cache-Control": NO_STORE}
    return JSONResponse(error(exc.code, exc.message), status_code=status_for(exc), headers=headers)


def accepts_gzip(header: str | None) -> bool:
    """Whether ``Accept-Encoding`` allows gzip (``gzip;q=0`` and ``*;q=0`` refuse it)."""
    if not header:
        return False
    codings: dict[str, float] = {}
    for item in header.split(","):
        name, _, params = item.strip().partition(";")
        quality = 1.0
        key, _, value = params.strip().partition("=")
        if key.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                quality = 0.0
        codings[name.strip().lower()] = quality
    return codings.get("gzip", codings.get("*", 0.0)) > 0


@functools.lru_cache(maxsize=2048)
def _gzipped(data: bytes) -> bytes:
    """gzip of a playlist, remembered: the same public playlist is asked for again and again
    (signed ones differ per request and just pass through the LRU)."""
    return gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)


def text_response(request: Request, body: str, media_type: str, cache_control: str) -> Response:
    """A small text document (a playlist or manifest), gzipped when the client accepts it and
    it is worth it; HEAD gets the headers (and length) of the GET."""
    data = body.encode()
    headers = {**CORS, "Cache-Control": cache_control, "Vary": "Accept-Encoding"}
    if len(data) >= GZIP_MIN_SIZE and accepts_gzip(request.headers.get("accept-encoding")):
        data = _gzipped(data)
        headers["Content-Encoding"] = "gzip"
    headers["Content-Length"] = str(len(data))
    content = b"" if request.method == "HEAD" else data
    return Response(content, headers=headers, media_type=media_type)
