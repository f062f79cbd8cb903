"""Pure ASGI middleware (it never touches bodies, so uploads stream through untouched)."""

from __future__ import annotations

import itertools
import secrets
import time

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reelhouse.logs import get_logger
from reelhouse.metrics import Metrics

log = get_logger("reelhouse.http")


UPLOAD_FAMILIES = {"upload", "files"}
BODY_METHODS = {"PATCH", "PUT", "POST"}


def upload_id_of(path: str) -> str | None:
    """The upload id in ``/upload/{id}[/...]`` or ``/files/{id}``, for log context."""
    parts = path.strip("/").split("/")
    if len(parts) >= 2 and parts[0] in UPLOAD_FAMILIES and parts[1]:
        return parts[-1] if parts[0] == "files" else parts[1]
    return None


def route_family(path: str) -> str:
    """A low-cardinality label for metrics: the first path segment."""
    head = path.lstrip("/").split("/", 1)[0]
    return (
        head
        if head in {"video", "system", "data", "upload", "files", "stream", "image"}
        else "other"
    )


class RequestContext:
    """Binds a request id to the logs of one request, records latency and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        # Request ids only need to be unique, not secret: a random per-process prefix and a
        # counter cost no system call per request (a random id did, on every segment).
        self._id_prefix = secrets.token_hex(8)
        self._counter = itertools.count(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = f"{self._id_prefix}{next(self._counter):08x}"
        family = route_family(scope["path"])
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        context = {"request_id": request_id}
        upload_id = upload_id_of(scope["path"]) if family in UPLOAD_FAMILIES else None
        if upload_id:
            context["upload_id"] = upload_id
        streaming = family in UPLOAD_FAMILIES and scope["method"] in BODY_METHODS
        if streaming:
            self.metrics.uploads_in_flight.inc()
        with structlog.contextvars.bound_contextvars(**context):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                if streaming:
                    self.metrics.uploads_in_flight.dec()
                elapsed = time.perf_counter() - started
                self.metrics.http_requests.labels(route=family, status=str(status)).inc()
                self.metrics.http_latency.labels(route=family).observe(elapsed)
                if status >= 500:
                    log.warning(
                        "http.server_error",
                        method=scope["method"],
                        path=scope["path"],
                        status=status,
                        seconds=round(elapsed, 4),
                    )
