"""State changes the media jobs make: prepared, progress, published (ready), errored.

Each function is one step of the asset state machine in the caller's transaction, with the
jobs and outbox events that step causes. The jobs (``reelhouse.worker.media_tasks``) do the
slow work between them and hold no state of their own.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse import events
from reelhouse.db.models import Asset, Rendition
from reelhouse.jobs.defer import AlreadyQueued, defer_job
from reelhouse.media import static_renditions
from reelhouse.media.assets import FETCH_TASK, PREPARE_TASK, append_asset_event
from reelhouse.states import AssetStatus, Kind, transition

ENCODE_TASK = "reelhouse.encode_asset"
STORYBOARD_TASK = "reelhouse.make_storyboard"
__all__ = ["ENCODE_TASK", "FETCH_TASK", "PREPARE_TASK"]


@dataclass(frozen=True)
class RenditionFacts:
    name: str
    kind: str
    width: int | None
    height: int | None
    frame_rate: float | None
    bandwidth: int
    average_bandwidth: int
    codecs: str
    channels: int | None
    passthrough: bool
    playlist_key: str


@dataclass(frozen=True)
class AssetFacts:
    """What publishing records on the asset (Mux's fields)."""

    duration: float
    aspect_ratio: str | None
    resolution_tier: str
    max_stored_resolution: str
    max_stored_frame_rate: float | None
    tracks: list[dict[str, Any]]


async def lock_asset(session: AsyncSession, asset_id: str) -> Asset | None:
    """The asset, locked for this transaction (None when it was deleted)."""
    row: Asset | None = await session.scalar(
        select(Asset).where(Asset.id == asset_id).with_for_update()
    )
    return row


async def record_prepared(
    session: AsyncSession,
    asset: Asset,
    *,
    input_info: list[dict[str, Any]],
    duration: float | None,
    now: datetime,
) -> int:
    """The input was probed and accepted: store what was learnt, queue the encode of the next
    output version (returned)."""
    version = asset.version + 1
    asset.input_info = input_info
    asset.duration = duration
    asset.progress_state = "transcoding"
    asset.progress = 0.0
    asset.updated_at = now
    await defer_job(
        session,
        ENCODE_TASK,
        {"asset_id": asset.id, "version": version},
        queueing_lock=f"encode:{asset.id}",
    )
    return version


async def record_progress(
    session: AsyncSession, asset_id: str, percent: float, *, now: datetime
) -> None:
    """Store encode progress (0 to 100) while the asset is still preparing."""
    await session.execute(
        update(Asset)
        .where(Asset.id == asset_id, Asset.status == AssetStatus.PREPARING)
        .values(progress=max(0.0, min(100.0, percent)), updated_at=now)
    )


async def publish(
    session: AsyncSession,
    asset: Asset,
    *,
    version: int,
    renditions: list[RenditionFacts],
    facts: AssetFacts,
    now: datetime,
) -> None:
    """Flip the asset to ready on output ``version`` (already fully stored) in one step."""
    asset.status = transition(Kind.ASSET, asset.status, AssetStatus.READY)
    for item in renditions:
        session.add(
            Rendition(
                asset_id=asset.id,
                version=version,
                name=item.name,
                kind=item.kind,
                width=item.width,
                height=item.height,
                frame_rate=item.frame_rate,
                bandwidth=item.bandwidth,
                average_bandwidth=item.average_bandwidth,
                codecs=item.codecs,
                channels=item.channels,
                passthrough=item.passthrough,
                playlist_key=item.playlist_key,
                created_at=now,
            )
        )
    asset.version = version
    asset.duration = facts.duration
    asset.aspect_ratio = facts.aspect_ratio
    asset.resolution_tier = facts.resolution_tier
    asset.max_stored_resolution = facts.max_stored_resolution
    asset.max_stored_frame_rate = facts.max_stored_frame_rate
    asset.tracks = facts.tracks
    asset.progress = 100.0
    asset.progress_state = "completed"
    asset.errors = None
    asset.updated_at = now
    asset.ready_at = now
    await session.flush()
    await static_renditions.plan_on_publish(session, asset, now)
    with contextlib.suppress(AlreadyQueued):  # a waiting job builds the current version anyway
        await defer_job(
            session,
            STORYBOARD_TASK,
            {"asset_id": asset.id, "version": version},
            queueing_lock=f"storyboard:{asset.id}",
        )
    await append_asset_event(session, asset, events.ASSET_READY, now)


async def mark_errored(
    session: AsyncSession, asset: Asset, *, error_type: str, message: str, now: datetime
) -> None:
    """The asset failed for good; ``message`` is for people (never a path or FFmpeg output)."""
    if asset.status == AssetStatus.ERRORED:
        return
    asset.status = transition(Kind.ASSET, asset.status, AssetStatus.ERRORED)
    asset.errors = {"type": error_type, "messages": [message]}
    asset.progress_state = "errored"
    asset.updated_at = now
    await session.flush()
    await append_asset_event(session, asset, events.ASSET_ERRORED, now)
