"""``/healthz`` (the process answers), ``/readyz`` (database and storage work), ``/metrics``.

The database check and the gauges read at scrape time are passed in, so the lean upload node
serves the same routes without SQLAlchemy."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reelhouse.metrics import Metrics

Check = Callable[[], Awaitable[None]]


def storage_round_trip(root: Path) -> None:
    """Write, read back and remove a small file under ``root``; raises OSError on failure."""
    root.mkdir(parents=True, exist_ok=True)
    payload = os.urandom(32)
    with tempfile.NamedTemporaryFile(dir=root, prefix=".readyz-", delete=True) as probe:
        probe.write(payload)
        probe.flush()
        probe.seek(0)
        if probe.read() != payload:
            raise OSError("storage returned different bytes")


def health_routes(
    check_database: Check,
    upload_root: Path,
    metrics: Metrics,
    *,
    refresh_gauges: Check | None = None,
) -> list[Route]:
    """``check_database`` raises when the database does not answer; ``refresh_gauges`` sets
    the database-backed gauges before each scrape (web nodes; an upload node reports only its
    own counters)."""

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        checks: dict[str, str] = {}
        try:
            await check_database()
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001 - readiness reports any failure as a string
            checks["database"] = f"error: {type(exc).__name__}"
        try:
            await asyncio.to_thread(storage_round_trip, upload_root)
            checks["storage"] = "ok"
        except OSError as exc:
            checks["storage"] = f"error: {exc.strerror or exc}"
        ready = all(value == "ok" for value in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    async def metrics_endpoint(request: Request) -> Response:
        if refresh_gauges is not None:
            await refresh_gauges()
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return [
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/readyz", readyz, methods=["GET", "HEAD"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
    ]
