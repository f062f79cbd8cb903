"""What a playback id plays: one query, and a tiny in-process cache in front of it.

A stream request needs the playback id's policy, its asset's status and published output
``version``, and that version's renditions. :func:`load_playback` reads all of it in ONE
round trip (``playback_ids JOIN assets LEFT JOIN renditions`` on the asset's current version,
with the asset's ready text tracks aggregated into one JSON column by a subquery) and returns
a frozen :class:`Playback` that holds no ORM state, so it can outlive the session.

:class:`PlaybackCache` keeps those snapshots for ``ttl`` seconds (1 s by default), and answers
from a snapshot up to one more ``ttl`` while it reloads it in the background: a player
fetching the master playlist, its media playlists and the first segments in the same second
costs one query, not ten, and no request waits for the database under steady traffic. The
price is that a change (a new version published, an asset deleted, a playback id removed) is
seen up to ``2 * ttl`` late on each web node; a request for a
version *newer* than the cached one bypasses the cache, so a freshly published version is
served at once. Unknown ids are not cached, so they cannot fill the cache.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.db.models import Asset, PlaybackId, Rendition, TextTrack
from reelhouse.delivery.errors import AssetErrored, AssetNotReady
from reelhouse.states import AssetStatus


@dataclass(frozen=True)
class PublishedRendition:
    """A row of ``renditions`` for the asset's current version (see ``db.models.Rendition``)."""

    name: str
    kind: str  # "video" | "audio"
    width: int | None
    height: int | None
    frame_rate: float | None
    bandwidth: int  # peak bit/s of this rendition alone; a variant's audio is added when rendered
    average_bandwidth: int
    codecs: str
    channels: int | None
    playlist_key: str


@dataclass(frozen=True)
class PublishedTextTrack:
    """A ready text track of the asset (``db.models.TextTrack``), in creation order."""

    id: str
    language_code: str
    name: str
    closed_captions: bool


@dataclass(frozen=True)
class Playback:
    """A playback id and the asset it plays, as of one moment."""

    playback_id: str
    policy: str  # "public" | "signed"
    environment_id: str
    asset_id: str
    status: str  # states.AssetStatus
    version: int  # the published output version; 0 before the first
    renditions: tuple[PublishedRendition, ...]
    text_tracks: tuple[PublishedTextTrack, ...] = ()


_READY_TEXT_TRACKS = (
    select(
        func.jsonb_agg(
            aggregate_order_by(
                func.jsonb_build_array(
                    TextTrack.id, TextTrack.language_code, TextTrack.name, TextTrack.closed_captions
                ),
                TextTrack.created_at,
                TextTrack.id,
            )
        )
    )
    .where(TextTrack.asset_id == Asset.id, TextTrack.status == "ready")
    .correlate(Asset)
    .scalar_subquery()
)


async def load_playback(session: AsyncSession, playback_id: str) -> Playback | None:
    """The :class:`Playback` of ``playback_id``, or None when no such id exists."""
    query = (
        select(
            PlaybackId.policy,
            Asset.environment_id,
            Asset.id,
            Asset.status,
            Asset.version,
            Rendition.name,
            Rendition.kind,
            Rendition.width,
            Rendition.height,
            Rendition.frame_rate,
            Rendition.bandwidth,
            Rendition.average_bandwidth,
            Rendition.codecs,
            Rendition.channels,
            Rendition.playlist_key,
            _READY_TEXT_TRACKS,
        )
        .select_from(PlaybackId)
        .join(
            Asset,
            and_(
                Asset.id == PlaybackId.asset_id, Asset.environment_id == PlaybackId.environment_id
            ),
        )
        .outerjoin(
            Rendition, and_(Rendition.asset_id == Asset.id, Rendition.version == Asset.version)
        )
        .where(PlaybackId.id == playback_id)
        .order_by(Rendition.id)
    )
    rows = (await session.execute(query)).all()
    if not rows:
        return None
    policy, environment_id, asset_id, status, version = rows[0][:5]
    renditions = tuple(_rendition(row[5:15]) for row in rows if row[5] is not None)
    texts = tuple(PublishedTextTrack(*item) for item in rows[0][15] or ())
    return Playback(
        playback_id, policy, environment_id, asset_id, status, version, renditions, texts
    )


def _rendition(columns: tuple[Any, ...]) -> PublishedRendition:
    name, kind, width, height, frame_rate, bandwidth, average, codecs, channels, key = columns
    return PublishedRendition(
        name, kind, width, height, frame_rate, bandwidth, average, codecs, channels, key
    )


def require_playable(playback: Playback) -> None:
    """Raise the error to answer unless ``playback``'s asset can be played now (412 while it
    is preparing or once it errored, as mux-player expects)."""
    if playback.status == AssetStatus.ERRORED:
        raise AssetErrored()
    if playback.status != AssetStatus.READY or playback.version < 1:
        raise AssetNotReady()


Loader = Callable[[str], Awaitable[Playback | None]]
Clock = Callable[[], datetime]


class PlaybackCache:
    """Snapshots from ``load`` kept ``ttl`` seconds, at most ``max_entries`` of them (oldest
    evicted first). ``ttl=0`` turns caching off. Not shared between processes.

    Stale while revalidate: a snapshot between ``ttl`` and ``ttl + stale`` seconds old (``stale``
    defaults to ``ttl``) is still answered, and one reload starts in the background; so under
    steady traffic no request waits for the database, and a change is seen at most
    ``ttl + stale`` seconds late. Older snapshots are reloaded before answering."""

    def __init__(
        self,
        load: Loader,
        clock: Clock,
        *,
        ttl: float = 1.0,
        stale: float | None = None,
        max_entries: int = 10_000,
    ) -> None:
        self._load = load
        self._clock = clock
        self._ttl = ttl
        self._stale = ttl if stale is None else stale
        self._max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, Playback]] = OrderedDict()
        self._loading: dict[str, asyncio.Future[Playback | None]] = {}

    async def get(self, playback_id: str, *, min_version: int = 0) -> Playback | None:
        """The snapshot of ``playback_id``; one older than ``ttl + stale`` or with a version
        below ``min_version`` is reloaded first. Concurrent misses for one id share one load,
        so an expiring entry under load costs one query, not one per waiting request."""
        now = self._clock().timestamp()
        cached = self._entries.get(playback_id)
        if cached is not None:
            stored_at, playback = cached
            age = now - stored_at
            if 0 <= age < self._ttl + self._stale and playback.version >= min_version:
                if age >= self._ttl:
                    self._loading_future(playback_id, now)  # refresh in the background
                return playback
            del self._entries[playback_id]
        loaded = await asyncio.shield(self._loading_future(playback_id, now))
        if loaded is not None and loaded.version < min_version:
            return await self._load(playback_id)
        return loaded

    def _loading_future(self, playback_id: str, now: float) -> asyncio.Future[Playback | None]:
        """The load in flight for ``playback_id``, started if there is none: one task per id,
        not tied to any request, so a client that goes away does not cancel the load the
        others are waiting for."""
        load = self._loading.get(playback_id)
        if load is None:
            load = asyncio.ensure_future(self._load(playback_id))
            self._loading[playback_id] = load
            load.add_done_callback(lambda done: self._store(playback_id, now, done))
        return load

    def _store(self, playback_id: str, now: float, done: asyncio.Future[Playback | None]) -> None:
        if self._loading.get(playback_id) is done:
            del self._loading[playback_id]
        if done.cancelled() or done.exception() is not None:
            return
        loaded = done.result()
        if loaded is None:
            self._entries.pop(playback_id, None)  # gone since it was cached
        elif self._ttl > 0:
            self._entries[playback_id] = (now, loaded)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
