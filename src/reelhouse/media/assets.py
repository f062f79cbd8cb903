"""Assets: created from a completed direct upload or from an input URL, then read, listed,
updated and deleted (scoped to an environment).

Each use case is one transaction: it writes the rows, defers the job that carries the asset on
and appends the outbox events; it flushes but never commits. ``Asset.inputs[0]`` is always the
main media (``{}`` for an upload: its bytes are in the upload store under the upload's id), the
rest are extra tracks or overlays; ``Asset.input_info`` (filled by the prepare job) is aligned
with it.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse import events
from reelhouse.db.models import Asset, DirectUpload, PlaybackId, TextTrack
from reelhouse.errors import InvalidParameters, NotFound
from reelhouse.ids import RandomBytes, new_id
from reelhouse.jobs.defer import defer_job
from reelhouse.media.outbox import append_event
from reelhouse.media.playback_ids import (
    add_playback_id,
    playback_id_view,
    playback_ids_by_asset,
    scoped_asset,
)
from reelhouse.media.text_tracks import text_tracks_by_asset, track_view
from reelhouse.media.uploads import upload_view
from reelhouse.schemas.assets import Asset as AssetView
from reelhouse.schemas.assets import (
    CreateAssetRequest,
    InputInfo,
    UpdateAssetRequest,
    clip_source,
)
from reelhouse.schemas.uploads import NewAssetSettings
from reelhouse.states import AssetStatus, Kind, UploadStatus, transition
from reelhouse.storage.layout import asset_prefix

PREPARE_TASK: Final = "reelhouse.prepare_asset"
FETCH_TASK: Final = "reelhouse.fetch_input"

_QUALITY_OF_TIER: Final = {"smart": "plus", "baseline": "basic", "premium": "premium"}
_TIER_OF_QUALITY: Final = {quality: tier for tier, quality in _QUALITY_OF_TIER.items()}
_DEFAULT_QUALITY: Final = "plus"
# Kept in their own columns (or as inputs), not in ``Asset.settings``.
_NOT_SETTINGS: Final = ("inputs", "passthrough", "test", "playback_policy", "playback_policies")


# --- the wire ---------------------------------------------------------------------------------


def _progress(asset: Asset) -> dict[str, Any]:
    if asset.status == AssetStatus.READY:
        return {"state": "completed", "progress": 100.0}
    value = min(max(asset.progress or 0.0, 0.0), 100.0)
    if asset.status == AssetStatus.ERRORED:
        return {"state": "errored", "progress": value}
    state = asset.progress_state if asset.progress_state == "transcoding" else "ingesting"
    return {"state": state, "progress": value}


def _static_file(wanted: dict[str, Any]) -> dict[str, Any]:
    resolution = wanted["resolution"]
    audio = resolution == "audio-only"
    name = "audio.m4a" if audio else f"{resolution}.mp4"
    return {
        "name": name,
        "ext": "m4a" if audio else "mp4",
        "resolution": resolution,
        "status": "preparing",
        "passthrough": wanted.get("passthrough"),
    }


def _static_renditions(settings: dict[str, Any]) -> dict[str, Any] | None:
    # What was asked for; the static-rendition job replaces this with what it made.
    produced = settings.get("static_renditions_state")
    if isinstance(produced, dict):
        return produced if produced.get("files") else None
    wanted = settings.get("static_renditions") or []
    if wanted:
        return {"status": "preparing", "files": [_static_file(w) for w in wanted]}
    if settings.get("mp4_support", "none") != "none":
        return {"status": "preparing", "files": []}
    return None


def asset_wire(
    asset: Asset,
    playback_ids: Sequence[PlaybackId],
    *,
    for_webhook: bool,
    text_tracks: Sequence[TextTrack] = (),
) -> dict[str, Any]:
    """The Asset object for ``asset``: ``created_at`` a string of Unix seconds for the REST API,
    an integer for webhook payloads (as Mux sends them). Fields still unknown are left out.
    ``text_tracks`` follow the video and audio tracks in ``tracks``."""
    settings = asset.settings or {}
    created = int(asset.created_at.timestamp())
    quality = settings.get("video_quality", _DEFAULT_QUALITY)
    view = AssetView.model_validate(
        {
            "id": asset.id,
            "created_at": created if for_webhook else str(created),
            "status": asset.status,
            "duration": asset.duration,
            "max_stored_resolution": asset.max_stored_resolution,
            "resolution_tier": asset.resolution_tier,
            "max_resolution_tier": settings.get("max_resolution_tier", "1080p"),
            "max_stored_frame_rate": asset.max_stored_frame_rate,
            "aspect_ratio": asset.aspect_ratio,
            "playback_ids": [playback_id_view(p) for p in playback_ids],
            "tracks": asset.tracks or [],
            "errors": asset.errors if asset.status == AssetStatus.ERRORED else None,
            "upload_id": asset.upload_id,
            "ingest_type": asset.ingest_type,
            "source_asset_id": settings.get("source_asset_id"),
            "passthrough": asset.passthrough,
            "test": asset.test or None,
            "video_quality": quality,
            "encoding_tier": _TIER_OF_QUALITY[quality],
            "mp4_support": settings.get("mp4_support", "none"),
            "static_renditions": _static_renditions(settings),
            "normalize_audio": bool(settings.get("normalize_audio", False)),
            "meta": settings.get("meta"),
            "progress": _progress(asset),
        }
    )
    wire = view.wire()
    if text_tracks:
        wire["tracks"] = [*wire.get("tracks", []), *(track_view(t) for t in text_tracks)]
    return wire


async def asset_payload(session: AsyncSession, asset: Asset) -> dict[str, Any]:
    """The webhook payload of ``asset`` (playback ids and text tracks included), for
    ``video.asset.*`` events."""
    pids = (await playback_ids_by_asset(session, [asset.id]))[asset.id]
    texts = (await text_tracks_by_asset(session, [asset.id]))[asset.id]
    return asset_wire(asset, pids, for_webhook=True, text_tracks=texts)


async def asset_views(session: AsyncSession, assets: Sequence[Asset]) -> list[dict[str, Any]]:
    """The REST Asset objects of ``assets``, in order, with one query for the playback ids
    and one for the text tracks."""
    ids = [a.id for a in assets]
    pids = await playback_ids_by_asset(session, ids)
    texts = await text_tracks_by_asset(session, ids)
    return [asset_wire(a, pids[a.id], for_webhook=False, text_tracks=texts[a.id]) for a in assets]


async def append_asset_event(
    session: AsyncSession, asset: Asset, type_: str, now: datetime
) -> None:
    """Append a ``video.asset.*`` event of ``type_`` carrying :func:`asset_payload`."""
    await append_event(
        session,
        environment_id=asset.environment_id,
        type=type_,
        object_type=events.OBJECT_ASSET,
        object_id=asset.id,
        data=await asset_payload(session, asset),
        now=now,
    )


# --- creation ---------------------------------------------------------------------------------


def _settings(request: NewAssetSettings) -> dict[str, Any]:
    settings = {k: v for k, v in request.wire().items() if k not in _NOT_SETTINGS}
    tier = settings.pop("encoding_tier", None)
    settings["video_quality"] = request.video_quality or _QUALITY_OF_TIER.get(
        tier or "", _DEFAULT_QUALITY
    )
    settings.setdefault("max_resolution_tier", "1080p")
    return settings


async def _new_asset(
    session: AsyncSession,
    environment_id: str,
    request: NewAssetSettings,
    inputs: list[dict[str, Any]],
    *,
    ingest_type: str,
    upload_id: str | None,
    test: bool,
    now: datetime,
    random_bytes: RandomBytes,
) -> Asset:
    asset = Asset(
        id=new_id(random_bytes),
        environment_id=environment_id,
        status=AssetStatus.PREPARING.value,
        upload_id=upload_id,
        ingest_type=ingest_type,
        inputs=inputs,
        settings=_settings(request),
        passthrough=request.passthrough,
        test=test,
        tracks=[],
        progress=0.0,
        progress_state="ingesting",
        version=0,
        created_at=now,
        updated_at=now,
    )
    session.add(asset)
    await session.flush()
    for policy in request.playback_policies or request.playback_policy or []:
        await add_playback_id(session, asset, policy, now=now, random_bytes=random_bytes)
    return asset


async def create_asset_from_upload(
    session: AsyncSession,
    upload_id: str,
    *,
    now: datetime,
    random_bytes: RandomBytes = secrets.token_bytes,
) -> Asset | None:
    """The asset of a direct upload whose bytes are complete, with the upload moved to
    ``asset_created``, the ``reelhouse.prepare_asset`` job deferred and the events
    ``video.upload.asset_created`` and ``video.asset.created`` appended.

    None (and nothing changed) unless the upload is ``waiting``, complete and has no asset yet:
    a cancelled upload never gets one, and a second call (even a concurrent one: the upload row
    is locked) is a no-op.
    """
    upload = await session.scalar(
        select(DirectUpload)
        .where(DirectUpload.id == upload_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if (
        upload is None
        or upload.status != UploadStatus.WAITING
        or upload.completed_at is None
        or upload.asset_id is not None
    ):
        return None
    if await session.scalar(select(Asset.id).where(Asset.upload_id == upload_id)) is not None:
        return None
    request = NewAssetSettings.model_validate(upload.new_asset_settings)
    asset = await _new_asset(
        session,
        upload.environment_id,
        request,
        [{}, *(request.inputs or [])],
        ingest_type="on_demand_direct_upload",
        upload_id=upload.id,
        test=bool(upload.test or request.test),
        now=now,
        random_bytes=random_bytes,
    )
    upload.status = transition(Kind.UPLOAD, upload.status, UploadStatus.ASSET_CREATED)
    upload.asset_id = asset.id
    upload.updated_at = now
    await session.flush()
    await defer_job(
        session, PREPARE_TASK, {"asset_id": asset.id}, queueing_lock=f"prepare:{asset.id}"
    )
    await append_event(
        session,
        environment_id=upload.environment_id,
        type=events.UPLOAD_ASSET_CREATED,
        object_type=events.OBJECT_UPLOAD,
        object_id=upload.id,
        data=upload_view(upload, None).wire(),
        now=now,
    )
    await append_asset_event(session, asset, events.ASSET_CREATED, now)
    return asset


async def create_asset_from_url(
    session: AsyncSession,
    environment_id: str,
    request: CreateAssetRequest,
    *,
    now: datetime,
    random_bytes: RandomBytes = secrets.token_bytes,
) -> Asset:
    """A ``preparing`` asset whose input the ``reelhouse.fetch_input`` job fetches, and its
    ``video.asset.created`` event. A ``mux://assets/{id}`` input is a clip of that asset (of
    the same environment, else ``InvalidParameters``): ``ingest_type`` ``on_demand_clip`` and
    ``source_asset_id`` set; the same job copies the source asset's original."""
    source_id = clip_source(request.main_url)
    if source_id is not None:
        try:
            await scoped_asset(session, environment_id, source_id)
        except NotFound as exc:
            raise InvalidParameters(f"the source asset {source_id} does not exist") from exc
    inputs = [i.model_dump(mode="json", exclude_none=True) for i in request.inputs or []]
    asset = await _new_asset(
        session,
        environment_id,
        request,
        inputs,
        ingest_type="on_demand_url" if source_id is None else "on_demand_clip",
        upload_id=None,
        test=bool(request.test),
        now=now,
        random_bytes=random_bytes,
    )
    if source_id is not None:
        asset.settings = {**asset.settings, "source_asset_id": source_id}
        await session.flush()
    await defer_job(session, FETCH_TASK, {"asset_id": asset.id}, queueing_lock=f"fetch:{asset.id}")
    await append_asset_event(session, asset, events.ASSET_CREATED, now)
    return asset


async def completed_uploads_without_asset(
    session: AsyncSession, now: datetime, older_than: timedelta, *, limit: int = 500
) -> list[str]:
    """Ids of uploads complete for at least ``older_than`` that are still ``waiting`` with no
    asset: the reconciler calls :func:`create_asset_from_upload` for each."""
    result = await session.scalars(
        select(DirectUpload.id)
        .where(
            DirectUpload.status == UploadStatus.WAITING.value,
            DirectUpload.completed_at.is_not(None),
            DirectUpload.completed_at <= now - older_than,
            DirectUpload.asset_id.is_(None),
        )
        .order_by(DirectUpload.completed_at)
        .limit(limit)
    )
    return list(result.all())


# --- reading ----------------------------------------------------------------------------------


async def get_asset(session: AsyncSession, environment_id: str, asset_id: str) -> Asset:
    """Asset ``asset_id`` of ``environment_id``; another environment's id is ``NotFound``."""
    return await scoped_asset(session, environment_id, asset_id)


def encode_cursor(created_at: datetime, asset_id: str) -> str:
    """An opaque cursor naming the position just after ``(created_at, asset_id)``."""
    raw = json.dumps([created_at.isoformat(), asset_id]).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The position a cursor names; ``InvalidParameters`` for one we did not make."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, asset_id = json.loads(raw)
        when = datetime.fromisoformat(created)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise InvalidParameters("cursor is not valid") from exc
    if not isinstance(asset_id, str) or when.tzinfo is None:
        raise InvalidParameters("cursor is not valid")
    return when, asset_id


async def list_assets(
    session: AsyncSession,
    environment_id: str,
    *,
    limit: int,
    page: int | None = None,
    cursor: str | None = None,
    upload_id: str | None = None,
) -> tuple[list[Asset], str | None]:
    """A page of ``environment_id``'s assets, newest first, and the cursor of the next page
    (None on the last). ``cursor`` wins over ``page`` (from 1); past the end is ``([], None)``."""
    query = select(Asset).where(Asset.environment_id == environment_id)
    if upload_id is not None:
        query = query.where(Asset.upload_id == upload_id)
    if cursor:
        query = query.where(tuple_(Asset.created_at, Asset.id) < tuple_(*decode_cursor(cursor)))
    elif page is not None and page > 1:
        query = query.offset((page - 1) * limit)
    query = query.order_by(Asset.created_at.desc(), Asset.id.desc()).limit(limit + 1)
    rows = list((await session.scalars(query)).all())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].created_at, rows[-1].id)


async def input_info(
    session: AsyncSession, environment_id: str, asset_id: str
) -> list[dict[str, Any]]:
    """Mux's input-info entries ``[{"settings", "file"}]``; empty until the prepare job has
    probed the inputs. An entry without ``settings`` takes the input's own."""
    asset = await get_asset(session, environment_id, asset_id)
    out: list[dict[str, Any]] = []
    for index, entry in enumerate(asset.input_info or []):
        settings = entry.get("settings")
        if settings is None:
            settings = asset.inputs[index] if index < len(asset.inputs) else {}
        info = InputInfo.model_validate({"settings": settings, "file": entry.get("file") or {}})
        out.append(info.model_dump(mode="json", exclude_none=True))
    return out


# --- changes ----------------------------------------------------------------------------------


async def update_asset(
    session: AsyncSession,
    environment_id: str,
    asset_id: str,
    request: UpdateAssetRequest,
    *,
    now: datetime,
) -> Asset:
    """Set the fields present in ``request`` (``passthrough``, ``meta``; null clears) and
    append ``video.asset.updated``."""
    asset = await scoped_asset(session, environment_id, asset_id, for_update=True)
    if "passthrough" in request.model_fields_set:
        asset.passthrough = request.passthrough
    if "meta" in request.model_fields_set:
        settings = {k: v for k, v in (asset.settings or {}).items() if k != "meta"}
        if request.meta is not None:
            settings["meta"] = request.meta.model_dump(mode="json", exclude_none=True)
        asset.settings = settings
    asset.updated_at = now
    await session.flush()
    await append_asset_event(session, asset, events.ASSET_UPDATED, now)
    return asset


async def delete_asset(
    session: AsyncSession, environment_id: str, asset_id: str, *, now: datetime
) -> str:
    """Delete the asset's rows (its playback ids and renditions cascade), append
    ``video.asset.deleted`` with its last state, and return the storage prefix whose objects
    the caller deletes once this commits."""
    asset = await scoped_asset(session, environment_id, asset_id, for_update=True)
    await append_asset_event(session, asset, events.ASSET_DELETED, now)
    await session.execute(delete(Asset).where(Asset.id == asset.id))
    session.expunge(asset)
    return asset_prefix(environment_id, asset_id)
