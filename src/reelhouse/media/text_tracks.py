"""Text tracks (subtitles and closed captions): adding one from a caption file URL or from a
file sent to the dashboard, deleting it, and recording what the ``reelhouse.fetch_text_track``
job made of the file.

A file sent to the dashboard is stored as is under the asset's prefix
(:func:`uploaded_source_key`) in the transaction that adds its track, whose ``url`` is then
``upload:`` plus the file's name (:func:`uploaded_url`); the job reads it from there instead of
fetching a URL, and deletes it once the track is settled.

A track is a ``text_tracks`` row: ``preparing`` until the job stores the converted WebVTT under
the asset's prefix (``env/{env}/assets/{asset}/text/{track}.vtt``: outside the output
versions, so a re-encode keeps it, and deleting the asset deletes it) and marks it ``ready``,
or refuses the file and marks it ``errored`` with a message. Each use case runs in the
caller's transaction with the asset row locked, defers its job and appends the
``video.asset.track.*`` event (data: the Track object with ``asset_id``), per asset so one
asset's events stay in order.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse import events
from reelhouse.db.models import Asset, TextTrack
from reelhouse.errors import InvalidParameters, NotFound
from reelhouse.ids import RandomBytes, new_id
from reelhouse.jobs.defer import defer_job
from reelhouse.media.outbox import append_event
from reelhouse.media.playback_ids import scoped_asset
from reelhouse.states import AssetStatus
from reelhouse.storage.layout import asset_prefix

FETCH_TASK: Final = "reelhouse.fetch_text_track"
DELETE_OBJECT_TASK: Final = "reelhouse.delete_text_track_object"

TRACK_CREATED: Final = "video.asset.track.created"
TRACK_READY: Final = events.ASSET_TRACK_READY
TRACK_ERRORED: Final = "video.asset.track.errored"
TRACK_DELETED: Final = "video.asset.track.deleted"

MAX_TEXT_TRACKS: Final = 50  # per asset: each is a line of every master playlist
ERROR_TYPE: Final = "invalid_input"
UPLOADED: Final = "upload:"
# BCP 47 in the shape players use: a 2-3 letter language, then subtags (``en``, ``pt-BR``,
# ``zh-Hant-TW``, ``es-419``).
LANGUAGE_CODE: Final = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,4}$")
_UNQUOTABLE = re.compile(r'["\x00-\x1f\x7f]')
_TRACK_ID = re.compile(r"^[A-Za-z0-9]{1,64}$")
_KEY = re.compile(r"^env/[^/]+/assets/[^/]+/text/[A-Za-z0-9]{1,64}\.(?:vtt|source)$")


@dataclass(frozen=True)
class NewTextTrack:
    """What ``POST .../tracks`` asks for (already validated at the wire)."""

    url: str
    language_code: str
    name: str | None = None
    closed_captions: bool = False
    passthrough: str | None = None


@dataclass(frozen=True)
class FetchWork:
    """A preparing track the job has to fetch."""

    track_id: str
    environment_id: str
    asset_id: str
    url: str


def vtt_key(environment_id: str, asset_id: str, track_id: str) -> str:
    """Where the converted WebVTT of a track is stored."""
    if not _TRACK_ID.match(track_id):
        raise ValueError(f"track id {track_id!r} is not a plain key segment")
    return f"{asset_prefix(environment_id, asset_id)}text/{track_id}.vtt"


def uploaded_source_key(environment_id: str, asset_id: str, track_id: str) -> str:
    """Where the file of a track added from an uploaded caption file waits for the job."""
    return vtt_key(environment_id, asset_id, track_id).removesuffix(".vtt") + ".source"


def uploaded_url(filename: str) -> str:
    """The ``url`` of a track added from an uploaded file called ``filename``."""
    return UPLOADED + filename


def is_uploaded(url: str) -> bool:
    """Whether a track's ``url`` says its file was uploaded (not a URL to fetch)."""
    return url.startswith(UPLOADED)


def printable_name(value: str) -> bool:
    """Whether ``value`` can be a track name: the name is written into playlists as a quoted
    string, so no double quotes or control characters, and not blank."""
    return not _UNQUOTABLE.search(value) and bool(value.strip())


def is_vtt_key(key: str) -> bool:
    """Whether ``key`` is a key :func:`vtt_key` or :func:`uploaded_source_key` makes (the
    delete job deletes nothing else)."""
    return bool(_KEY.match(key)) and ".." not in key


def track_view(track: TextTrack, *, status: str | None = None) -> dict[str, Any]:
    """Mux's Track object of a text track (``error`` only when errored)."""
    view: dict[str, Any] = {
        "id": track.id,
        "type": "text",
        "text_type": track.text_type,
        "text_source": track.text_source,
        "language_code": track.language_code,
        "name": track.name,
        "closed_captions": track.closed_captions,
        "status": status or track.status,
    }
    if track.passthrough is not None:
        view["passthrough"] = track.passthrough
    if track.status == "errored" and track.error:
        view["error"] = track.error
    return view


async def text_tracks_by_asset(
    session: AsyncSession, asset_ids: Sequence[str]
) -> dict[str, list[TextTrack]]:
    """Every asset's text tracks, oldest first (an empty list for an asset with none)."""
    found: dict[str, list[TextTrack]] = {asset_id: [] for asset_id in asset_ids}
    if not asset_ids:
        return found
    rows = await session.scalars(
        select(TextTrack)
        .where(TextTrack.asset_id.in_(list(asset_ids)))
        .order_by(TextTrack.created_at, TextTrack.id)
    )
    for row in rows.all():
        found[row.asset_id].append(row)
    return found


async def _event(
    session: AsyncSession, track: TextTrack, type_: str, now: datetime, status: str | None = None
) -> None:
    await append_event(
        session,
        environment_id=track.environment_id,
        type=type_,
        object_type=events.OBJECT_ASSET,
        object_id=track.asset_id,
        data={**track_view(track, status=status), "asset_id": track.asset_id},
        now=now,
    )


# --- the API's use cases -----------------------------------------------------------------------


async def add_text_track(
    session: AsyncSession,
    environment_id: str,
    asset_id: str,
    wanted: NewTextTrack,
    *,
    now: datetime,
    random_bytes: RandomBytes = secrets.token_bytes,
) -> TextTrack:
    """``POST .../tracks``: a ``preparing`` track whose file the fetch job gets.
    ``InvalidParameters`` when the asset errored or has :data:`MAX_TEXT_TRACKS` already."""
    asset = await scoped_asset(session, environment_id, asset_id, for_update=True)
    if asset.status == AssetStatus.ERRORED:
        raise InvalidParameters("the asset errored: text tracks cannot be added to it")
    count = await session.scalar(
        select(func.count()).select_from(TextTrack).where(TextTrack.asset_id == asset.id)
    )
    if (count or 0) >= MAX_TEXT_TRACKS:
        raise InvalidParameters(f"an asset has at most {MAX_TEXT_TRACKS} text tracks")
    track = TextTrack(
        id=new_id(random_bytes),
        environment_id=environment_id,
        asset_id=asset.id,
        status="preparing",
        language_code=wanted.language_code,
        name=wanted.name or wanted.language_code,
        closed_captions=wanted.closed_captions,
        text_type="subtitles",
        text_source="uploaded",
        passthrough=wanted.passthrough,
        url=wanted.url,
        created_at=now,
        updated_at=now,
    )
    session.add(track)
    await session.flush()
    await defer_job(session, FETCH_TASK, {"track_id": track.id}, queueing_lock=f"text:{track.id}")
    await _event(session, track, TRACK_CREATED, now)
    return track


async def delete_text_track(
    session: AsyncSession, environment_id: str, asset_id: str, track_id: str, *, now: datetime
) -> None:
    """``DELETE .../tracks/{id}``: forget a text track (its file is deleted by a job once this
    commits). ``InvalidParameters`` for the asset's video or audio track; ``NotFound`` for
    an unknown id."""
    asset = await scoped_asset(session, environment_id, asset_id, for_update=True)
    track = await session.scalar(
        select(TextTrack).where(TextTrack.id == track_id, TextTrack.asset_id == asset.id)
    )
    if track is None:
        if any(t.get("id") == track_id for t in asset.tracks or []):
            raise InvalidParameters("only text tracks can be deleted")
        raise NotFound()
    await _event(session, track, TRACK_DELETED, now, status="deleted")
    if track.object_key:
        await defer_job(session, DELETE_OBJECT_TASK, {"key": track.object_key})
    if track.status == "preparing" and is_uploaded(track.url):
        source = uploaded_source_key(track.environment_id, track.asset_id, track.id)
        await defer_job(session, DELETE_OBJECT_TASK, {"key": source})
    await session.execute(delete(TextTrack).where(TextTrack.id == track.id))
    session.expunge(track)


# --- the job's side ----------------------------------------------------------------------------


async def fetch_work(session: AsyncSession, track_id: str) -> FetchWork | None:
    """The track to fetch, or None when it is gone or no longer preparing."""
    track = await session.get(TextTrack, track_id)
    if track is None or track.status != "preparing":
        return None
    return FetchWork(track.id, track.environment_id, track.asset_id, track.url)


async def _locked_preparing(session: AsyncSession, track_id: str) -> TextTrack | None:
    # The asset row first, as the API's use cases lock it: one lock order, no deadlock.
    asset_id = await session.scalar(select(TextTrack.asset_id).where(TextTrack.id == track_id))
    if asset_id is None:
        return None
    await session.scalar(select(Asset.id).where(Asset.id == asset_id).with_for_update())
    track = await session.scalar(
        select(TextTrack)
        .where(TextTrack.id == track_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return track if track is not None and track.status == "preparing" else None


async def record_ready(
    session: AsyncSession, track_id: str, object_key: str, *, now: datetime
) -> bool:
    """The track's WebVTT is stored at ``object_key``: mark it ready and announce it. False
    (nothing changed) when the track was deleted or settled meanwhile."""
    track = await _locked_preparing(session, track_id)
    if track is None:
        return False
    track.status = "ready"
    track.object_key = object_key
    track.error = None
    track.updated_at = now
    await session.flush()
    await _event(session, track, TRACK_READY, now)
    return True


async def record_errored(
    session: AsyncSession, track_id: str, message: str, *, now: datetime
) -> bool:
    """The track's file could not be used: mark it errored with ``message``."""
    track = await _locked_preparing(session, track_id)
    if track is None:
        return False
    track.status = "errored"
    track.error = {"type": ERROR_TYPE, "messages": [message]}
    track.updated_at = now
    await session.flush()
    await _event(session, track, TRACK_ERRORED, now)
    return True
