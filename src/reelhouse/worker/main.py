"""The job composition root: registers every task on a Procrastinate app and runs the worker.

Periodic tasks:
- ``reelhouse.expire_uploads`` (every minute): waiting uploads past ``expires_at`` -> timed_out.
- ``reelhouse.purge_uploads`` (every 10 minutes): delete the bytes of cancelled, timed-out and
  errored uploads after a grace period, then mark them purged.
- ``reelhouse.retry_stalled_jobs`` (every 10 seconds): jobs whose worker stopped sending
  heartbeats go back to the queue.
- ``reelhouse.reconcile_uploads`` (every minute): completed uploads that never got their asset
  (a crash in between) get it now.

Deferred by the lean upload node when an upload finishes (``reelhouse serve --uploads-only``):
- ``reelhouse.create_upload_asset``: the asset of that upload, made by the same use case the
  web process runs when it receives the last byte itself.
Each is idempotent: running one twice, or concurrently on two workers, does no harm (a
queueing lock also keeps at most one of each waiting in the queue).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import procrastinate
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.composition import object_store, outbound_policy
from reelhouse.config import Settings
from reelhouse.db.engine import create_engine, session_factory
from reelhouse.ingest.errors import UploadNotFound
from reelhouse.ingest.filestore import FileStore
from reelhouse.jobs.app import build_job_app
from reelhouse.logs import get_logger
from reelhouse.media import assets, uploads
from reelhouse.media.upload_edge import CREATE_ASSET_TASK
from reelhouse.metrics import Metrics
from reelhouse.pipeline.ffmpeg import locate_ffmpeg
from reelhouse.webhooks import WebhookDeps
from reelhouse.worker.analytics_tasks import AnalyticsDeps, register_analytics_tasks
from reelhouse.worker.media_tasks import MediaDeps, register_media_tasks
from reelhouse.worker.static_tasks import register_static_tasks
from reelhouse.worker.storyboard_tasks import register_storyboard_tasks
from reelhouse.worker.text_track_tasks import register_text_track_tasks
from reelhouse.worker.webhook_tasks import register_webhook_tasks

log = get_logger("reelhouse.worker")

EXPIRE_UPLOADS = "reelhouse.expire_uploads"
PURGE_UPLOADS = "reelhouse.purge_uploads"
RETRY_STALLED = "reelhouse.retry_stalled_jobs"
RECONCILE_UPLOADS = "reelhouse.reconcile_uploads"


@dataclass(frozen=True)
class WorkerDeps:
    """What the tasks need. ``delete_upload_bytes`` must succeed when the bytes are already
    gone. ``stalled_after_seconds`` is how long without a heartbeat makes a worker stalled."""

    sessions: async_sessionmaker[AsyncSession]
    clock: Callable[[], datetime]
    delete_upload_bytes: Callable[[str], Awaitable[None]]
    purge_grace: timedelta = timedelta(hours=1)
    stalled_after_seconds: float = 60.0


async def expire_uploads_once(deps: WorkerDeps) -> list[str]:
    """One pass of upload expiry; returns the ids it timed out."""
    async with deps.sessions.begin() as session:
        expired = await uploads.expire_direct_uploads(session, deps.clock())
    if expired:
        log.info("uploads.expired", count=len(expired))
    return expired


async def purge_uploads_once(deps: WorkerDeps) -> list[str]:
    """One pass of byte purging; returns the ids it purged. Bytes are deleted before the row is
    marked, so a crash in between only means deleting nothing again next time."""
    purged: list[str] = []
    while True:
        async with deps.sessions() as session:
            batch = await uploads.uploads_to_purge(session, deps.clock(), deps.purge_grace)
        batch = [upload_id for upload_id in batch if upload_id not in purged]
        if not batch:
            return purged
        for upload_id in batch:
            await deps.delete_upload_bytes(upload_id)
        async with deps.sessions.begin() as session:
            await uploads.mark_purged(session, batch, now=deps.clock())
        purged.extend(batch)
        log.info("uploads.purged", count=len(batch))


async def reconcile_uploads_once(deps: WorkerDeps, older_than: timedelta) -> list[str]:
    """Create the asset of every upload that completed without one (a crash between the
    last byte and the asset's creation); each creation is its own idempotent transaction."""
    async with deps.sessions() as session:
        pending = await assets.completed_uploads_without_asset(session, deps.clock(), older_than)
    created: list[str] = []
    for upload_id in pending:
        async with deps.sessions.begin() as session:
            asset = await assets.create_asset_from_upload(session, upload_id, now=deps.clock())
        if asset is not None:
            created.append(asset.id)
    if created:
        log.warning("uploads.reconciled", count=len(created))
    return created


async def create_upload_asset_once(deps: WorkerDeps, upload_id: str) -> str | None:
    """The asset of a finished upload, in one transaction; None when it already has one (or
    was cancelled), so a retried or repeated job changes nothing."""
    async with deps.sessions.begin() as session:
        asset = await assets.create_asset_from_upload(session, upload_id, now=deps.clock())
    if asset is None:
        return None
    log.info("asset.created", asset_id=asset.id, upload_id=upload_id)
    return asset.id


async def retry_stalled_jobs_once(app: procrastinate.App, stalled_after_seconds: float) -> int:
    """Send every job held by a worker without a recent heartbeat back to the queue."""
    manager = app.job_manager
    stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after_seconds)
    count = 0
    for job in stalled:
        await manager.retry_job(job)
        count += 1
    if count:
        log.warning("jobs.stalled_retried", count=count)
    return count


def register_tasks(app: procrastinate.App, deps: WorkerDeps) -> None:
    """Register every reelhouse task on ``app``."""

    @app.periodic(cron="* * * * *", periodic_id="expire")
    @app.task(name=EXPIRE_UPLOADS, queueing_lock=EXPIRE_UPLOADS, pass_context=False)
    async def expire_uploads(timestamp: int) -> None:
        await expire_uploads_once(deps)

    @app.periodic(cron="*/10 * * * *", periodic_id="purge")
    @app.task(name=PURGE_UPLOADS, queueing_lock=PURGE_UPLOADS, pass_context=False)
    async def purge_uploads(timestamp: int) -> None:
        await purge_uploads_once(deps)

    @app.periodic(cron="* * * * * */10", periodic_id="stalled")
    @app.task(name=RETRY_STALLED, queueing_lock=RETRY_STALLED, pass_context=False)
    async def retry_stalled_jobs(timestamp: int) -> None:
        await retry_stalled_jobs_once(app, deps.stalled_after_seconds)

    @app.task(
        name=CREATE_ASSET_TASK,
        retry=procrastinate.RetryStrategy(max_attempts=5, exponential_wait=5),
        pass_context=False,
    )
    async def create_upload_asset(upload_id: str) -> None:
        await create_upload_asset_once(deps, upload_id)

    @app.periodic(cron="* * * * *", periodic_id="reconcile")
    @app.task(name=RECONCILE_UPLOADS, queueing_lock=RECONCILE_UPLOADS, pass_context=False)
    async def reconcile_uploads(timestamp: int) -> None:
        await reconcile_uploads_once(deps, timedelta(minutes=1))


async def run_worker(
    app: procrastinate.App,
    concurrency: int,
    install_signal_handlers: bool,
    *,
    stalled_after_seconds: float = 60.0,
) -> None:
    """Open ``app``, run its worker until stopped (a signal, or cancellation), close it.

    Heartbeats go out three times per stall period, so a live worker is never taken for dead.
    """
    async with app.open_async():
        await app.run_worker_async(
            concurrency=concurrency,
            install_signal_handlers=install_signal_handlers,
            update_heartbeat_interval=max(1.0, stalled_after_seconds / 3),
            stalled_worker_timeout=stalled_after_seconds,
            delete_jobs="successful",
        )


async def run_embedded_worker(
    settings: Settings, database_url: str, *, metrics: Metrics | None = None
) -> None:
    """The worker ``reelhouse serve`` runs in its own event loop (and ``reelhouse worker``
    alone): local-disk upload bytes, the configured concurrency, no signal handlers."""
    engine = create_engine(database_url)
    store = FileStore(settings.uploads_dir, fsync=settings.upload_fsync)

    async def delete_upload_bytes(upload_id: str) -> None:
        try:
            await store.terminate(upload_id)
        except UploadNotFound:
            return

    sessions = session_factory(engine)
    clock = _utcnow
    deps = WorkerDeps(
        sessions=sessions,
        clock=clock,
        delete_upload_bytes=delete_upload_bytes,
        stalled_after_seconds=settings.worker_stalled_seconds,
    )
    media = MediaDeps(
        sessions=sessions,
        store=object_store(settings),
        clock=clock,
        ffmpeg=locate_ffmpeg(settings.ffmpeg),
        uploads_dir=settings.uploads_dir,
        inputs_dir=settings.inputs_dir,
        scratch_dir=settings.scratch_dir,
        preset=settings.encode_preset,
        timeout_factor=settings.encode_timeout_factor,
        min_timeout=settings.encode_min_timeout,
        max_duration=settings.max_input_duration,
        max_frame_rate=settings.max_input_frame_rate,
        passthrough=settings.passthrough_top_rung,
        outbound_policy=outbound_policy(settings),
        metrics=metrics or Metrics(),
    )
    app = build_job_app(database_url)
    register_tasks(app, deps)
    register_media_tasks(app, media)
    register_storyboard_tasks(app, media)
    register_static_tasks(app, media)
    register_text_track_tasks(app, media)
    register_analytics_tasks(app, AnalyticsDeps(sessions=sessions, clock=clock))
    register_webhook_tasks(
        app,
        WebhookDeps(
            sessions=sessions,
            clock=clock,
            random=random.random,
            policy=outbound_policy(settings, max_bytes=1 << 20),
        ),
    )
    try:
        await run_worker(
            app,
            settings.worker_concurrency,
            install_signal_handlers=False,
            stalled_after_seconds=settings.worker_stalled_seconds,
        )
    finally:
        await engine.dispose()


def _utcnow() -> datetime:
    return datetime.now(UTC)
