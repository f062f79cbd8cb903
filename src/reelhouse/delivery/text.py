"""Text tracks over HTTP.

```
GET|HEAD /stream/{playback_id}/text/{track_id}.vtt             the WebVTT file (Mux's URL)
GET|HEAD /stream/{playback_id}/text/{track_id}.m3u8            its HLS subtitles playlist
GET|HEAD /stream/{playback_id}/t/{grant}/text/{track_id}.(vtt|m3u8)   the same, signed id
OPTIONS  (any of them)                                         CORS preflight
```

Without a grant the playback id passes the :class:`PlaybackGate` for audience ``v`` (a signed
id needs ``?token=``); with one (the URIs the master playlist hands out) the grant is checked
like a segment's. The subtitles playlist is one segment, the whole file (see
:mod:`reelhouse.pipeline.captions`), named relatively so a grant in the path is inherited.
Answers: 412 while the asset or the track is being prepared (or the asset errored), 404 for an
unknown or errored track, the stored object otherwise (``Range``, ``ETag``).

Each request is one query (playback id, asset and track). Mount these routes *before*
:func:`~reelhouse.delivery.routes.stream_routes`, whose ``{playback_id}/{rest:path}`` would
otherwise catch them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import and_, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reelhouse.db.models import Asset, PlaybackId, TextTrack
from reelhouse.delivery.access import VIDEO, Access, Viewer
from reelhouse.delivery.errors import AssetNotReady, PlaybackNotFound
from reelhouse.delivery.files import ObjectServer
from reelhouse.delivery.paths import check_playback_id
from reelhouse.delivery.playbacks import Playback, require_playable
from reelhouse.delivery.responses import (
    SHORT_CACHE,
    answer,
    text_response,
)
from reelhouse.delivery.routes import HLS_TYPE, METHODS, DeliveryDeps
from reelhouse.delivery.tokens import GRANT_SEGMENT
from reelhouse.pipeline.captions import subtitles_playlist

VTT_CACHE = "public, max-age=300"  # a deleted track must stop being served before long
_NAME = re.compile(r"^([A-Za-z0-9]{1,64})\.(vtt|m3u8)$")


def text_routes(deps: DeliveryDeps, prefix: str = "/stream") -> list[Route]:
    """The text-track routes under ``prefix`` (mount them before the stream routes)."""
    handler = TextFiles(deps)
    return [
        Route(f"{prefix}/{{playback_id}}/text/{{name}}", handler.serve, methods=METHODS),
        Route(
            f"{prefix}/{{playback_id}}/{GRANT_SEGMENT}/{{grant}}/text/{{name}}",
            handler.serve,
            methods=METHODS,
        ),
    ]


@dataclass(frozen=True)
class _Target:
    playback: Playback
    duration: float | None
    track_status: str
    object_key: str | None


class TextFiles:
    """The endpoint behind :func:`text_routes`."""

    def __init__(self, deps: DeliveryDeps) -> None:
        self.deps = deps
        self.objects = ObjectServer(deps.store)

    async def serve(self, request: Request) -> Response:
        return await answer(request, self._serve)

    async def _serve(self, request: Request) -> Response:
        playback_id = check_playback_id(request.path_params["playback_id"])
        match = _NAME.match(request.path_params["name"])
        if match is None:
            raise PlaybackNotFound()
        track_id, extension = match.groups()
        target = await self._load(playback_id, track_id)
        if target is None:
            raise PlaybackNotFound()
        grant: str | None = request.path_params.get("grant")
        viewer = Viewer.of(request)
        access: Access = (
            await self.deps.gate.check_file(target.playback, grant, viewer)
            if grant is not None
            else await self.deps.gate.check(target.playback, viewer, VIDEO)
        )
        self._ready(target)
        if extension == "m3u8":
            # A grant minted for this request (a signed id fetched with ?token=) goes into
            # the segment's path; one already in the path is inherited by the relative URI.
            uri = f"{track_id}.vtt"
            if access.grant and grant is None:
                uri = f"../{GRANT_SEGMENT}/{access.grant}/text/{uri}"
            body = subtitles_playlist(uri, target.duration or 0.0)
            return text_response(request, body, HLS_TYPE, access.cache_control(SHORT_CACHE))
        assert target.object_key is not None  # a ready track has one (checked in _ready)
        return await self.objects.serve(
            request, target.object_key, cache_control=access.cache_control(VTT_CACHE)
        )

    @staticmethod
    def _ready(target: _Target) -> None:
        require_playable(target.playback)
        if target.track_status == "errored":
            raise PlaybackNotFound()
        if target.track_status != "ready" or not target.object_key:
            raise AssetNotReady("This text track is still being prepared")

    async def _load(self, playback_id: str, track_id: str) -> _Target | None:
        query = (
            select(
                PlaybackId.policy,
                Asset.environment_id,
                Asset.id,
                Asset.status,
                Asset.version,
                Asset.duration,
                TextTrack.status,
                TextTrack.object_key,
            )
            .select_from(PlaybackId)
            .join(
                Asset,
                and_(
                    Asset.id == PlaybackId.asset_id,
                    Asset.environment_id == PlaybackId.environment_id,
                ),
            )
            .join(TextTrack, and_(TextTrack.asset_id == Asset.id, TextTrack.id == track_id))
            .where(PlaybackId.id == playback_id)
        )
        async with self.deps.sessions() as session:
            row = (await session.execute(query)).first()
        if row is None:
            return None
        policy, environment_id, asset_id, status, version, duration, track_status, key = row
        playback = Playback(playback_id, policy, environment_id, asset_id, status, version, ())
        return _Target(playback, duration, track_status, key)
