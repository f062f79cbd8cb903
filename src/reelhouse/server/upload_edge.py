"""The upload edge, wired once for both processes that serve it: ``/upload/{id}`` (tus, chunked
PUT and the resumable-upload draft) and ``/files/`` (tus with an access token), on the local-disk
store with PostgreSQL advisory locks and hooks over the given :class:`UploadRecords`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.routing import Route

from reelhouse.config import Settings
from reelhouse.db.locks import PgAdvisoryLocker
from reelhouse.ingest.body import BufferShares
from reelhouse.ingest.chunked import ChunkedPutFrontend
from reelhouse.ingest.draft import DraftFrontend
from reelhouse.ingest.errors import Locked
from reelhouse.ingest.filestore import FileStore
from reelhouse.ingest.routes import UploadRoutes
from reelhouse.ingest.tus import TusFrontend
from reelhouse.ingest.uploads import IngestConfig, Uploads
from reelhouse.media.upload_edge import UploadRecords
from reelhouse.metrics import Metrics
from reelhouse.server.upload_hooks import DirectUploadHooks, FilesHooks, HookDeps


@dataclass(frozen=True)
class UploadEdge:
    """The routes, and what a lifespan starts and stops (the locker) or a test inspects."""

    store: FileStore
    locker: PgAdvisoryLocker
    routes: list[Route]


def utcnow() -> datetime:
    """The clock both composition roots give the upload edge unless told otherwise."""
    return datetime.now(UTC)


def psycopg_conninfo(database_url: str) -> str:
    """A libpq URL from a SQLAlchemy-style one."""
    return database_url.replace("postgresql+psycopg://", "postgresql://", 1)


def build_upload_edge(
    settings: Settings,
    database_url: str,
    records: UploadRecords,
    metrics: Metrics,
    clock: Callable[[], datetime],
) -> UploadEdge:
    store = FileStore(settings.uploads_dir, fsync=settings.upload_fsync)
    locker = PgAdvisoryLocker(
        psycopg_conninfo(database_url),
        handover_seconds=settings.lock_handover_seconds,
        park_seconds=settings.lock_park_seconds,
        make_error=Locked,
    )
    base = settings.base_url
    deps = HookDeps(
        records=records,
        metrics=metrics,
        clock=clock,
        default_max_bytes=settings.max_upload_bytes,
        files_cors_origin=settings.files_cors_origin,
        files_timeout=settings.files_upload_timeout,
    )
    config = IngestConfig(
        max_size=settings.max_upload_bytes,
        read_timeout=settings.upload_read_timeout,
        buffers=BufferShares(
            settings.upload_buffer_bytes, budget=settings.upload_buffer_budget_bytes
        ),
        clock=clock,
    )

    def direct_location(target: str | None, upload_id: str) -> str:
        if target is None or upload_id == target:
            return f"{base}/upload/{upload_id}"
        return f"{base}/upload/{target}/{upload_id}"

    def files_location(target: str | None, upload_id: str) -> str:
        return f"{base}/files/{upload_id}"

    direct = Uploads(store, locker, DirectUploadHooks(deps), config)
    files = Uploads(store, locker, FilesHooks(deps), config)
    draft = DraftFrontend(direct, direct_location) if settings.ietf_resumable_uploads else None
    direct_routes = UploadRoutes(
        direct,
        TusFrontend(direct, direct_location),
        chunked=ChunkedPutFrontend(direct),
        draft=draft.handle if draft else None,
    )
    files_routes = UploadRoutes(files, TusFrontend(files, files_location))
    routes = [*direct_routes.direct("/upload/{target}"), *files_routes.collection("/files/")]
    return UploadEdge(store=store, locker=locker, routes=routes)
