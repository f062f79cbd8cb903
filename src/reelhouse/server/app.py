"""The ASGI composition root: builds the database, the upload store and lock, the hooks and the
API, and mounts every surface on one app. Nothing below this module builds concrete things."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from fastapi import FastAPI
from limits.aio.storage import RedisStorage, Storage
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp

from reelhouse import __version__
from reelhouse.analytics.intake import BeaconLimiter, IntakeDeps, beacon_routes
from reelhouse.analytics.queries import ViewMetrics
from reelhouse.api.app import ApiDeps, build_api_router
from reelhouse.composition import object_store
from reelhouse.config import Settings
from reelhouse.db.engine import create_engine, session_factory
from reelhouse.db.locks import PgAdvisoryLocker
from reelhouse.delivery.images import ImageDeps, image_routes
from reelhouse.delivery.routes import DeliveryDeps, stream_routes
from reelhouse.delivery.signed import SignedPlayback, stored_secret
from reelhouse.delivery.static import static_routes
from reelhouse.delivery.text import text_routes
from reelhouse.ingest.filestore import FileStore
from reelhouse.media.upload_records import SessionRecords
from reelhouse.metrics import Metrics
from reelhouse.outbound import Policy
from reelhouse.pipeline.ffmpeg import locate_ffmpeg
from reelhouse.server import gauges
from reelhouse.server.errors import install_error_handlers
from reelhouse.server.health import health_routes
from reelhouse.server.hosts import HostRouting
from reelhouse.server.middleware import RequestContext
from reelhouse.server.upload_edge import build_upload_edge, utcnow
from reelhouse.storage import layout
from reelhouse.web.dashboard import DashboardDeps, dashboard_routes
from reelhouse.web.embed import EmbedDeps, embed_routes
from reelhouse.web.passwords import AdminPassword
from reelhouse.web.static import static_mount


@dataclass
class Platform:
    """What one web process runs on; built once by :func:`create_app`."""

    settings: Settings
    metrics: Metrics
    store: FileStore
    locker: PgAdvisoryLocker


def rate_limit_storage(settings: Settings) -> Storage | None:
    """Redis when several web nodes share limits (``REELHOUSE_REDIS_URL``), else in process."""
    if not settings.redis_url:
        return None
    return RedisStorage("async+" + settings.redis_url, implementation="redispy")


def create_app(
    settings: Settings,
    database_url: str,
    *,
    metrics: Metrics | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> ASGIApp:
    metrics = metrics or Metrics()
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    edge = build_upload_edge(settings, database_url, SessionRecords(sessions), metrics, clock)
    locker = edge.locker
    base = settings.base_url

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await locker.start()
        try:
            yield
        finally:
            await locker.stop()
            await engine.dispose()

    api = FastAPI(
        title="reelhouse",
        version=__version__,
        description="Self-hosted video platform; the core of the Mux Video API.",
    )
    install_error_handlers(api)
    objects = object_store(settings)

    async def delete_asset_objects(environment_id: str, asset_id: str) -> None:
        await objects.delete_prefix(layout.asset_prefix(environment_id, asset_id))

    api.include_router(
        build_api_router(
            ApiDeps(
                sessions=sessions,
                base_url=base,
                clock=clock,
                default_max_upload_bytes=settings.max_upload_bytes,
                delete_asset_objects=delete_asset_objects,
                webhook_allow_private=settings.outbound_allow_private,
            ),
            metrics=ViewMetrics(sessions, clock),
        )
    )
    # Uploads, playback and health are plain Starlette routes ahead of the REST API, so their
    # hot paths skip FastAPI's middleware stack; everything else falls through to the API.
    playback_secret = (
        settings.playback_secret.encode()
        if settings.playback_secret
        else stored_secret(settings.data_dir / "playback_secret")
    )
    gate = SignedPlayback.from_sessions(sessions, playback_secret, clock)
    delivery = DeliveryDeps(
        sessions=sessions,
        store=objects,
        clock=clock,
        gate=gate,
        accel_redirect_prefix=settings.accel_redirect_prefix,
        presign_seconds=settings.presigned_redirect_seconds,
        memory_cache_bytes=settings.delivery_memory_cache_mb << 20,
    )
    images = ImageDeps(
        sessions=sessions,
        store=objects,
        clock=clock,
        ffmpeg=locate_ffmpeg(settings.ffmpeg),
        scratch_dir=settings.scratch_dir,
        gate=gate,
        uploads_dir=settings.uploads_dir,
        inputs_dir=settings.inputs_dir,
        public_url=settings.public_url,
    )
    surfaces = [
        *edge.routes,
        *static_routes(delivery),
        *text_routes(delivery),
        *stream_routes(delivery),
        *image_routes(images),
        *embed_routes(EmbedDeps()),
        *beacon_routes(
            IntakeDeps(
                sessions=sessions,
                clock=clock,
                salt_secret=stored_secret(settings.data_dir / "analytics_salt"),
                limiter=BeaconLimiter(storage=rate_limit_storage(settings)),
            )
        ),
        static_mount(),
        *health_routes(
            partial(gauges.check, engine),
            settings.uploads_dir,
            metrics,
            refresh_gauges=partial(gauges.refresh, engine, metrics),
        ),
    ]

    dashboard = DashboardDeps(
        sessions=sessions,
        clock=clock,
        base_url=base,
        session_secret=stored_secret(settings.data_dir / "dashboard_secret"),
        default_max_upload_bytes=settings.max_upload_bytes,
        store=objects,
        admin_password=(
            AdminPassword.from_setting(settings.admin_password) if settings.admin_password else None
        ),
        session_lifetime=timedelta(seconds=settings.dashboard_session_seconds),
        metrics=ViewMetrics(sessions, clock),
    )
    webhook_policy = Policy(allow_private=settings.outbound_allow_private)
    surfaces.extend(dashboard_routes(dashboard, webhook_policy=webhook_policy))
    app = Starlette(routes=[*surfaces, Mount("/", app=api)], lifespan=lifespan)
    app.state.platform = Platform(
        settings=settings, metrics=metrics, store=edge.store, locker=edge.locker
    )
    return HostRouting(
        RequestContext(app, metrics),
        stream_host=settings.stream_host,
        image_host=settings.image_host,
    )
