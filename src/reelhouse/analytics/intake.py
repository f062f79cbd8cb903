"""``POST /beacon``: where players send view beacons (see :mod:`.beacons` for the format).

No token: any page that plays a video may send them, so the route answers CORS ``*`` (with an
``OPTIONS`` preflight), and also takes ``Content-Type: text/plain``, which is what
``navigator.sendBeacon`` sends without a preflight; the body must be JSON either way. Every
refusal is a Mux-shaped error with a message:

- 429 when the client IP exceeded its moving-window limit (checked before reading anything);
- 415 for any other content type; 413 for a body over :data:`MAX_BODY` (by Content-Length,
  or while reading, before any parsing);
- 400 for malformed JSON or an invalid batch; 404 for an unknown playback id;
- 409 when the view id belongs to another playback id.

An accepted batch answers ``202 {"data": {"view_id", "accepted"}}`` (``accepted``: events not
seen before). Plain Starlette routes: mount them on any router.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reelhouse.analytics import beacons, viewers, views
from reelhouse.logs import get_logger
from reelhouse.schemas.envelopes import data, error

log = get_logger("reelhouse.analytics.intake")

MAX_BODY = 8 * 1024
CONTENT_TYPES = frozenset({"application/json", "text/plain"})
CORS = {"Access-Control-Allow-Origin": "*"}
PREFLIGHT = {
    **CORS,
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "86400",
}


class BeaconLimiter:
    """A moving-window limit per client IP (``rate`` in the ``limits`` notation, e.g.
    ``"120/minute"``). ``storage`` defaults to in-process memory; pass a
    ``limits.aio.storage.RedisStorage`` to share the limit between web nodes."""

    def __init__(self, rate: str = "120/minute", storage: Storage | None = None) -> None:
        self._item: RateLimitItem = parse(rate)
        self._limiter = MovingWindowRateLimiter(storage or MemoryStorage())

    async def allow(self, ip: str) -> bool:
        """Count one request from ``ip``; False when it is over the limit."""
        return bool(await self._limiter.hit(self._item, "beacon", ip))

    @property
    def retry_after(self) -> int:
        """Seconds a refused client should wait (the window's length)."""
        return int(self._item.get_expiry())


@dataclass(frozen=True)
class IntakeDeps:
    """``salt_secret`` derives the daily viewer-hash salt (keep it stable across restarts and
    shared by every web node, or unique viewers are over-counted)."""

    sessions: async_sessionmaker[AsyncSession]
    clock: Callable[[], datetime]
    salt_secret: bytes
    limiter: BeaconLimiter = field(default_factory=BeaconLimiter)


class _Refused(Exception):
    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message


def _refusal(status: int, kind: str, *messages: str) -> JSONResponse:
    return JSONResponse(error(kind, *messages), status_code=status, headers=CORS)


def beacon_routes(deps: IntakeDeps, path: str = "/beacon") -> list[Route]:
    """The beacon route (POST and its preflight), bound to ``deps``."""

    async def beacon(request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=PREFLIGHT)
        ip = request.client.host if request.client else "unknown"
        if not await deps.limiter.allow(ip):
            refusal = _refusal(429, "too_many_requests", "too many beacons; slow down")
            refusal.headers["Retry-After"] = str(deps.limiter.retry_after)
            return refusal
        try:
            document = await _read_json(request)
            batch = beacons.parse_batch(document)
        except _Refused as exc:
            return _refusal(exc.status, exc.kind, exc.message)
        except beacons.InvalidBeacon as exc:
            return _refusal(400, "invalid_parameters", *exc.messages)
        now = deps.clock()
        agent = request.headers.get("user-agent", "")
        viewer = views.Viewer(
            viewer_hash=viewers.viewer_hash(deps.salt_secret, now.date(), ip, agent),
            ua_family=viewers.ua_family(agent),
            player=batch.player,
        )
        async with deps.sessions.begin() as session:
            target = await views.find_target(session, batch.playback_id)
            if target is None:
                return _refusal(404, "not_found", f"unknown playback id {batch.playback_id!r}")
            try:
                accepted = await views.record_batch(session, batch, target, viewer, now=now)
            except views.ViewConflict:
                return _refusal(409, "conflict", "view_id belongs to another playback id")
        log.debug("beacon.accepted", view_id=str(batch.view_id), accepted=accepted)
        body = data({"view_id": str(batch.view_id), "accepted": accepted})
        return JSONResponse(body, status_code=202, headers=CORS)

    return [Route(path, beacon, methods=["POST", "OPTIONS"])]


async def _read_json(request: Request) -> Any:
    """The request's JSON document, refused on content type, size or syntax."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in CONTENT_TYPES:
        raise _Refused(415, "unsupported_media_type", "send the beacon as application/json")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise _Refused(413, "too_large", f"a beacon is at most {MAX_BODY} bytes")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                raise _Refused(413, "too_large", f"a beacon is at most {MAX_BODY} bytes")
    except ClientDisconnect as exc:
        raise _Refused(400, "invalid_parameters", "the request body was cut short") from exc
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise _Refused(400, "invalid_parameters", f"request body is not valid JSON: {exc}") from exc
