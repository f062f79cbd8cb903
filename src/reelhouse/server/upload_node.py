"""The lean upload node's ASGI composition root (``reelhouse serve --uploads-only``).

It serves only the upload edge (``/upload/{id}`` and ``/files/``, every protocol the web process
speaks there) and ``/healthz``, ``/readyz``, ``/metrics``, over plain psycopg: no SQLAlchemy,
FastAPI, API schemas or templates are loaded, so an idle node holds about half the memory of
the all-in-one web process. A finished upload is recorded with a job that a worker turns into the
asset. Operators route ``/upload/`` and ``/files/`` of the public URL to such nodes and the rest
to ``reelhouse serve --no-worker`` web nodes; they share the database and the uploads directory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp

from reelhouse.config import Settings
from reelhouse.media.upload_edge import PgRecords
from reelhouse.metrics import Metrics
from reelhouse.server.health import health_routes
from reelhouse.server.middleware import RequestContext
from reelhouse.server.upload_edge import build_upload_edge, psycopg_conninfo, utcnow

ELSEWHERE = (
    "This is an upload node: it serves /upload/ and /files/ only. Send API, playback and "
    "dashboard requests to a web node."
)


async def not_found(request: Request, exc: Exception) -> Response:
    """Anything but the upload edge and health: a JSON 404 that says where to go instead."""
    return JSONResponse({"error": {"type": "not_found", "messages": [ELSEWHERE]}}, status_code=404)


def create_upload_node(
    settings: Settings,
    database_url: str,
    *,
    metrics: Metrics | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> ASGIApp:
    metrics = metrics or Metrics()
    records = PgRecords(psycopg_conninfo(database_url))
    edge = build_upload_edge(settings, database_url, records, metrics, clock)

    async def check_database() -> None:
        async with records.pool.connection() as conn:
            await conn.execute("SELECT 1 FROM direct_uploads LIMIT 0")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await records.open()
        try:
            await edge.locker.start()
            try:
                yield
            finally:
                await edge.locker.stop()
        finally:
            await records.close()

    routes = [*edge.routes, *health_routes(check_database, settings.uploads_dir, metrics)]
    app = Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={404: not_found, 405: not_found}
    )
    return RequestContext(app, metrics)
