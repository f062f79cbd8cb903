"""Static renditions (downloadable MP4/M4A files): requesting them, and recording what the
``reelhouse.make_static_renditions`` job made.

The state is Mux's ``static_renditions`` object, kept on the asset in
``settings["static_renditions_state"]`` (``asset_wire`` shows it as is): ``{status, files}``
where each file is Mux's file object plus ``version``, the output version it is (being) made
from. A file is ``preparing`` until the job records it ``ready``, ``skipped`` (the asset has
nothing to make it from, e.g. ``2160p.mp4`` of a 720p asset) or ``errored``. Files of the legacy
``mp4_support`` setting have ``type: standard``; those added one by one have ``type: advanced``.

Each use case runs in the caller's transaction with the asset row locked, defers the job and
appends the webhook events (per file ``video.asset.static_rendition.*``; the legacy aggregate
``video.asset.static_renditions.*``, with the asset as data, when ``mp4_support`` asked).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse import events
from reelhouse.db.models import Asset, Rendition
from reelhouse.errors import InvalidParameters, NotFound
from reelhouse.ids import RandomBytes, new_id
from reelhouse.jobs.defer import AlreadyQueued, defer_job
from reelhouse.media.assets import append_asset_event
from reelhouse.media.outbox import append_event
from reelhouse.media.playback_ids import scoped_asset
from reelhouse.pipeline import mp4
from reelhouse.schemas.assets import StaticRenditionFile
from reelhouse.states import AssetStatus

MAKE_TASK: Final = "reelhouse.make_static_renditions"
STATE_KEY: Final = "static_renditions_state"

# Mux's event names (events.py holds only ``...static_rendition.ready`` so far).
FILE_CREATED: Final = "video.asset.static_rendition.created"
FILE_READY: Final = events.ASSET_STATIC_RENDITION_READY
FILE_SKIPPED: Final = "video.asset.static_rendition.skipped"
FILE_ERRORED: Final = "video.asset.static_rendition.errored"
FILE_DELETED: Final = "video.asset.static_rendition.deleted"
LEGACY_PREPARING: Final = "video.asset.static_renditions.preparing"
LEGACY_READY: Final = "video.asset.static_renditions.ready"
LEGACY_ERRORED: Final = "video.asset.static_renditions.errored"
LEGACY_DELETED: Final = "video.asset.static_renditions.deleted"
_FILE_EVENT: Final = {"ready": FILE_READY, "skipped": FILE_SKIPPED, "errored": FILE_ERRORED}
_LEGACY_EVENT: Final = {"ready": LEGACY_READY, "errored": LEGACY_ERRORED}


# --- state -------------------------------------------------------------------------------------


def files_of(asset: Asset) -> list[dict[str, Any]]:
    """Copies of the asset's static file entries (empty before any was requested)."""
    state = (asset.settings or {}).get(STATE_KEY)
    return [dict(f) for f in state.get("files", [])] if isinstance(state, dict) else []


def find_file(asset: Asset, name: str) -> dict[str, Any] | None:
    """The file entry called ``name`` (``capped-1080p.mp4``), if the asset has one."""
    return next((f for f in files_of(asset) if f.get("name") == name), None)


def aggregate_status(files: list[dict[str, Any]]) -> str:
    """``preparing`` while any file is; ``errored`` when every file errored; else ``ready``."""
    statuses = [f["status"] for f in files]
    if "preparing" in statuses:
        return "preparing"
    if statuses and all(s == "errored" for s in statuses):
        return "errored"
    return "ready"


def file_view(entry: dict[str, Any]) -> dict[str, Any]:
    """Mux's file object for a stored entry (internal keys left out)."""
    return StaticRenditionFile.model_validate(entry).wire()


def _preparing(asset: Asset) -> bool:
    return any(f["status"] == "preparing" for f in files_of(asset))


def _legacy(asset: Asset) -> bool:
    return str((asset.settings or {}).get("mp4_support") or "none") != "none"


async def _save(
    session: AsyncSession, asset: Asset, files: list[dict[str, Any]], now: datetime
) -> None:
    """Store ``files`` and announce a settled aggregate status. The state stays (with no
    files) once anything was planned, so what was asked at creation is not asked again."""
    before = files_of(asset)
    state = {"status": aggregate_status(files), "files": files}
    asset.settings = {**(asset.settings or {}), STATE_KEY: state}
    asset.updated_at = now
    await session.flush()
    was = aggregate_status(before) if before else None
    status = aggregate_status(files) if files else None
    standard = any(f.get("type") == "standard" for f in files)
    if status != was and status in _LEGACY_EVENT and standard and _legacy(asset):
        await append_asset_event(session, asset, _LEGACY_EVENT[status], now)


async def _file_event(
    session: AsyncSession, asset: Asset, type_: str, entry: dict[str, Any], now: datetime
) -> None:
    await append_event(
        session,
        environment_id=asset.environment_id,
        type=type_,
        object_type=events.OBJECT_ASSET,  # per asset, so the events of one asset stay in order
        object_id=asset.id,
        data={**file_view(entry), "asset_id": asset.id},
        now=now,
    )


def _new_file(
    name: str, type_: str, passthrough: str | None, random_bytes: RandomBytes
) -> dict[str, Any]:
    return {
        "id": new_id(random_bytes),
        "name": name,
        "ext": name.rsplit(".", 1)[-1],
        "type": type_,
        "status": "preparing",
        "resolution": mp4.resolution_of(name),
        "passthrough": passthrough,
        "version": None,
    }


# --- planning ----------------------------------------------------------------------------------


async def published_rungs(session: AsyncSession, asset: Asset) -> tuple[list[mp4.VideoRung], bool]:
    """The video rungs of the asset's published version, and whether it has audio."""
    rows = (
        await session.scalars(
            select(Rendition).where(
                Rendition.asset_id == asset.id, Rendition.version == asset.version
            )
        )
    ).all()
    rungs = [
        mp4.VideoRung(r.name, r.width or 0, r.height or 0, r.passthrough)
        for r in rows
        if r.kind == "video" and r.width and r.height
    ]
    return rungs, any(r.kind == "audio" for r in rows)


def _with_standard(
    files: list[dict[str, Any]], names: list[str], random_bytes: RandomBytes
) -> list[dict[str, Any]]:
    """``files`` with the standard ones made to be exactly ``names`` (kept ones keep their id)."""
    kept = [f for f in files if f.get("type") != "standard" or f["name"] in names]
    have = {f["name"] for f in kept if f.get("type") == "standard"}
    added = [_new_file(n, "standard", None, random_bytes) for n in names if n not in have]
    return kept + added


async def _schedule(
    session: AsyncSession,
    asset: Asset,
    files: list[dict[str, Any]],
    wanted: set[str],
    now: datetime,
) -> None:
    """Mark the files whose ids are in ``wanted`` preparing (or skipped, when the published
    version has nothing to make them from) for the current version, save, and defer the job."""
    rungs, has_audio = await published_rungs(session, asset)
    newly: list[dict[str, Any]] = []
    for entry in files:
        if entry["id"] not in wanted:
            continue
        made = mp4.recipe(entry["name"], rungs, has_audio)
        entry.update(status="preparing" if made else "skipped", version=asset.version)
        newly.append(entry)
    await _save(session, asset, files, now)
    for entry in newly:
        if entry["status"] == "skipped":
            await _file_event(session, asset, FILE_SKIPPED, entry, now)
    if any(e["status"] == "preparing" for e in newly):
        await defer_make(session, asset)


async def defer_make(session: AsyncSession, asset: Asset) -> None:
    """Queue the job for ``asset`` (one waiting job per asset does every preparing file)."""
    try:
        await defer_job(
            session,
            MAKE_TASK,
            {"asset_id": asset.id, "version": asset.version},
            lock=f"static:{asset.id}",
            queueing_lock=f"static:{asset.id}",
        )
    except AlreadyQueued:
        return


def _planned(asset: Asset, random_bytes: RandomBytes) -> list[dict[str, Any]]:
    """The asset's files; before any state exists, the files asked for at creation."""
    settings = asset.settings or {}
    if STATE_KEY in settings:
        return files_of(asset)
    files: list[dict[str, Any]] = []
    for wanted in settings.get("static_renditions") or []:
        name = mp4.file_name(wanted["resolution"])
        if all(f["name"] != name for f in files):
            files.append(_new_file(name, "advanced", wanted.get("passthrough"), random_bytes))
    return files


async def _created(
    session: AsyncSession,
    asset: Asset,
    files: list[dict[str, Any]],
    before: set[str],
    now: datetime,
) -> None:
    for entry in files:
        if entry["id"] not in before:
            await _file_event(session, asset, FILE_CREATED, entry, now)


async def plan_on_publish(
    session: AsyncSession,
    asset: Asset,
    now: datetime,
    random_bytes: RandomBytes = secrets.token_bytes,
) -> None:
    """Called as ``asset`` becomes ready on a new version: (re)make every requested file from
    it. Does nothing when no static rendition was asked for."""
    before = {f["id"] for f in files_of(asset)}
    files = _planned(asset, random_bytes)
    mp4_support = str((asset.settings or {}).get("mp4_support") or "none")
    if mp4_support != "none":
        rungs, has_audio = await published_rungs(session, asset)
        names = mp4.standard_names(mp4_support, rungs, has_audio)
        files = _with_standard(files, names, random_bytes)
    if not files:
        return
    await _created(session, asset, files, before, now)
    await _schedule(session, asset, files, {f["id"] for f in files}, now)
    if mp4_support != "none" and _preparing(asset):
        await append_asset_event(session, asset, LEGACY_PREPARING, now)


# --- the API's use cases -----------------------------------------------------------------------


async def set_mp4_support(
    session: AsyncSession,
    environment_id: str,
    asset_id: str,
    mp4_support: str,
    *,
    now: datetime,
    random_bytes: RandomBytes = secrets.token_bytes,
) -> Asset:
    """``PUT .../mp4-support``: store the legacy setting; on a ready asset make the standard
    files it now asks for and drop the ones it no longer does (a preparing asset gets them
    when it is published)."""
    asset = await scoped_asset(session, environment_id, asset_id, for_update=True)
    had_standard = any(f.get("type") == "standard" for f in files_of(asset))
    asset.settings = {**(asset.settings or {}), "mp4_support": mp4_support}
    asset.updated_at = now
    if asset.status != AssetStatus.READY:
        if STATE_KEY in asset.settings:
            await _save(session, asset, _with_standard(files_of(asset), [], random_bytes), now)
        await session.flush()
        return asset
    files = files_of(asset)
    rungs, has_audio = await published_rungs(session, asset)
    names = mp4.standard_names(mp4_support, rungs, has_audio) if mp4_support != "none" else []
    old = {f["id"] for f in files}
    files = _with_standard(files, names, random_bytes)
    added = {f["id"] for f in files} - old
    await _created(session, asset, files, old, now)
    await _schedule(session, asset, files, added, now)
    if mp4_support == "none" and had_standard:
        await append_asset_event(session, asset, LEGACY_DELETED, now)
    elif added and _preparing(asset):
        await append_asset_event(session, asset, LEGACY_PREPARING, now)
    return asset


async def add_static_rendition(
    session: AsyncSession,
    environment_id: str,
    asset_id: str,
    resolution: str,
    passthrough: str | None,
    *,
    now: datetime,
    random_bytes: RandomBytes = secrets.token_bytes,
) -> dict[str, Any]:
    """``POST .../static-renditions``: add one file (``preparing``) and return its entry.
    ``InvalidParameters`` when the asset errored or already has a file of that name."""
    asset = await scoped_asset(session, environment_id, asset_id, for_update=True)
    if asset.status == AssetStatus.ERRORED:
        raise InvalidParameters("the asset errored: there is nothing to make a file from")
    name = mp4.file_name(resolution)
    before = {f["id"] for f in files_of(asset)}
    files = _planned(asset, random_bytes)
    if any(f["name"] == name for f in files):
        raise InvalidParameters(f"the asset already has a static rendition {name}")
    entry = _new_file(name, "advanced", passthrough, random_bytes)
    files.append(entry)
    await _created(session, asset, files, before, now)
    if asset.status == AssetStatus.READY:
        await _schedule(session, asset, files, {entry["id"]}, now)
    else:  # planned when the asset is published
        await _save(session, asset, files, now)
    return entry


async def delete_static_rendition(
    session: AsyncSession, environment_id: str, asset_id: str, rendition_id: str, *, now: datetime
) -> None:
    """``DELETE .../static-renditions/{id}``: forget the file (it is no longer served; its
    object goes with the output version). ``NotFound`` for an unknown id."""
    asset = await scoped_asset(session, environment_id, asset_id, for_update=True)
    files = files_of(asset)
    entry = next((f for f in files if f["id"] == rendition_id), None)
    if entry is None:
        raise NotFound()
    await _save(session, asset, [f for f in files if f is not entry], now)
    await _file_event(session, asset, FILE_DELETED, entry, now)


# --- the job's side ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Track:
    """A published rendition a file is made from: its media playlist names its init segment
    and media segments (relative to the playlist)."""

    name: str
    playlist_key: str
    width: int | None
    height: int | None
    passthrough: bool


@dataclass(frozen=True)
class Work:
    """One file the job has to make from the asset's ``version``."""

    file_id: str
    name: str
    version: int
    video: Track | None
    audio: Track | None


async def pending_work(session: AsyncSession, asset: Asset) -> list[Work]:
    """The preparing files of the asset's current version, with what each is made from."""
    rows = (
        await session.scalars(
            select(Rendition).where(
                Rendition.asset_id == asset.id, Rendition.version == asset.version
            )
        )
    ).all()
    tracks = {r.name: Track(r.name, r.playlist_key, r.width, r.height, r.passthrough) for r in rows}
    audio = next((tracks[r.name] for r in rows if r.kind == "audio"), None)
    rungs, has_audio = await published_rungs(session, asset)
    work: list[Work] = []
    for entry in files_of(asset):
        if entry["status"] != "preparing" or entry.get("version") != asset.version:
            continue
        made = mp4.recipe(entry["name"], rungs, has_audio)
        if made is None:
            continue
        video = tracks[made.rung.name] if made.rung is not None else None
        work.append(
            Work(entry["id"], entry["name"], asset.version, video, audio if made.audio else None)
        )
    return work


async def _locked_entry(
    session: AsyncSession, asset_id: str, file_id: str, version: int
) -> tuple[Asset, list[dict[str, Any]], dict[str, Any]] | None:
    asset = await session.scalar(
        select(Asset)
        .where(Asset.id == asset_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if asset is None or asset.version != version:
        return None
    files = files_of(asset)
    entry = next((f for f in files if f["id"] == file_id), None)
    if entry is None or entry["status"] != "preparing" or entry.get("version") != version:
        return None
    return asset, files, entry


async def record_made(
    session: AsyncSession,
    work: Work,
    asset_id: str,
    *,
    filesize: int,
    duration: float | None,
    now: datetime,
) -> bool:
    """The file of ``work`` is stored: mark it ready (False when it is no longer wanted)."""
    found = await _locked_entry(session, asset_id, work.file_id, work.version)
    if found is None:
        return False
    asset, files, entry = found
    video = work.video
    short = min(video.width or 0, video.height or 0) if video is not None else None
    entry.update(
        status="ready",
        filesize=str(filesize),
        bitrate=round(filesize * 8 / duration) if duration else None,
        width=video.width if video is not None else None,
        height=video.height if video is not None else None,
        resolution_tier=mp4.resolution_tier(short),
    )
    await _save(session, asset, files, now)
    await _file_event(session, asset, FILE_READY, entry, now)
    return True


async def record_failed(
    session: AsyncSession, work: Work, asset_id: str, *, status: str, now: datetime
) -> bool:
    """The file of ``work`` could not be made: ``status`` is ``errored`` or ``skipped``."""
    found = await _locked_entry(session, asset_id, work.file_id, work.version)
    if found is None:
        return False
    asset, files, entry = found
    entry["status"] = status
    await _save(session, asset, files, now)
    await _file_event(session, asset, _FILE_EVENT[status], entry, now)
    return True
