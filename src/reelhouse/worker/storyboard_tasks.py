"""The storyboard job: ``reelhouse.make_storyboard`` {asset_id, version}.

Deferred when an asset is published; makes the sprite (jpg and webp) and ``layout.json`` of the
asset's *current* output version once, so the first player asking for ``storyboard.vtt`` does
not wait for FFmpeg. Idempotent: a version whose ``layout.json`` exists is left alone, and a
job that outlived its version (the asset was re-encoded, or deleted) builds the current one or
nothing. The image routes build the same storyboard on demand when this job has not run yet.
"""

from __future__ import annotations

import procrastinate
from sqlalchemy import select

from reelhouse.db.models import Asset, Rendition
from reelhouse.delivery.images import StoryboardTarget, build_storyboard
from reelhouse.delivery.playbacks import PublishedRendition
from reelhouse.logs import get_logger
from reelhouse.media.processing import STORYBOARD_TASK
from reelhouse.states import AssetStatus
from reelhouse.worker.media_tasks import MediaDeps

log = get_logger("reelhouse.worker.storyboards")
_RETRY = procrastinate.RetryStrategy(max_attempts=3, exponential_wait=5)


async def load_target(deps: MediaDeps, asset_id: str) -> StoryboardTarget | None:
    """The asset's current published version and its renditions; None unless it is ready."""
    async with deps.sessions() as session:
        asset = await session.get(Asset, asset_id)
        if asset is None or asset.status != AssetStatus.READY or asset.version < 1:
            return None
        rows = (
            await session.scalars(
                select(Rendition)
                .where(Rendition.asset_id == asset_id, Rendition.version == asset.version)
                .order_by(Rendition.id)
            )
        ).all()
    renditions = tuple(
        PublishedRendition(
            r.name,
            r.kind,
            r.width,
            r.height,
            r.frame_rate,
            r.bandwidth,
            r.average_bandwidth,
            r.codecs,
            r.channels,
            r.playlist_key,
        )
        for r in rows
    )
    return StoryboardTarget(
        asset.environment_id, asset_id, asset.version, float(asset.duration or 0.0), renditions
    )


async def make_storyboard(deps: MediaDeps, asset_id: str, version: int) -> None:
    """Build the storyboard of ``asset_id``'s current version (``version`` is the one that was
    published when the job was deferred; a newer one is built instead)."""
    target = await load_target(deps, asset_id)
    if target is None:
        log.info("storyboard.skipped", asset_id=asset_id, version=version)
        return
    if not any(r.kind == "video" for r in target.renditions):
        return  # audio only
    layout = await build_storyboard(
        deps.store, target, ffmpeg=deps.ffmpeg, scratch_dir=deps.scratch_dir
    )
    log.info(
        "storyboard.ready",
        asset_id=asset_id,
        version=target.version,
        tiles=layout.count,
        interval=layout.interval,
    )


def register_storyboard_tasks(app: procrastinate.App, deps: MediaDeps) -> None:
    """Register ``reelhouse.make_storyboard`` on ``app`` (retried: storage or FFmpeg trouble)."""

    @app.task(name=STORYBOARD_TASK, retry=_RETRY, pass_context=False)
    async def make_asset_storyboard(asset_id: str, version: int) -> None:
        await make_storyboard(deps, asset_id, version)
