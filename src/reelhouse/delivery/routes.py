"""The ``/stream/`` routes: manifests and the files of a published output version.

```
GET|HEAD /stream/{playback_id}.m3u8          multivariant playlist, from the rendition rows
GET|HEAD /stream/{playback_id}.mpd           the stored DASH manifest, with a BaseURL
GET|HEAD /stream/{playback_id}/v{n}/{path}   media playlists, init segments, media segments
GET|HEAD /stream/{playback_id}/t/{grant}/v{n}/{path}   the same, of a signed playback id
OPTIONS  (any of them)                       CORS preflight
```

Each request resolves its playback id (:mod:`.playbacks`), passes the :class:`PlaybackGate`
(a signed id's manifest needs ``?token=<JWT>``, and hands out URIs carrying a grant that its
files need; see ``docs/signed-playback.md``), and is served only from the asset's *current*
published version:
any other version answers 404, so a half-written new version is never visible and an old one
stops being served the moment the asset moves on. Plain Starlette routes: mount them on any
router (``app.router.routes.extend(stream_routes(deps))``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reelhouse.delivery.access import VIDEO, Access, PlaybackGate, PublicOnly, Viewer
from reelhouse.delivery.errors import (
    PlaybackNotFound,
)
from reelhouse.delivery.files import ObjectServer
from reelhouse.delivery.paths import (
    FileRequest,
    Manifest,
    check_playback_id,
    parse_file_path,
    parse_manifest_name,
)
from reelhouse.delivery.playbacks import Playback, PlaybackCache, load_playback, require_playable
from reelhouse.delivery.playlists import (
    options_from_query,
    render_master,
    served_prefix,
    with_base_url,
    with_text_tracks,
)
from reelhouse.delivery.responses import (
    IMMUTABLE,
    SHORT_CACHE,
    answer,
    text_response,
)
from reelhouse.delivery.tokens import split_grant
from reelhouse.storage.content_types import guess_content_type
from reelhouse.storage.errors import ObjectNotFound
from reelhouse.storage.layout import asset_version_prefix, dash_manifest_key
from reelhouse.storage.protocols import ObjectStore

HLS_TYPE = guess_content_type("x.m3u8")
DASH_TYPE = guess_content_type("x.mpd")
METHODS = ["GET", "HEAD", "OPTIONS"]


@dataclass(frozen=True)
class DeliveryDeps:
    """What the stream routes run on. ``cache_ttl`` (seconds; 0 disables) and
    ``cache_entries`` size the per-process playback cache (see :mod:`.playbacks`)."""

    sessions: async_sessionmaker[AsyncSession]
    store: ObjectStore
    clock: Callable[[], datetime]
    gate: PlaybackGate = field(default_factory=PublicOnly)
    cache_ttl: float = 1.0
    cache_entries: int = 10_000
    accel_redirect_prefix: str | None = None
    presign_seconds: int = 0
    memory_cache_bytes: int = 0

    def object_server(self) -> ObjectServer:
        """How segments and files are handed to clients (see :class:`ObjectServer`)."""
        return ObjectServer(
            self.store,
            accel_prefix=self.accel_redirect_prefix,
            presign_seconds=self.presign_seconds,
            memory_cache_bytes=self.memory_cache_bytes,
        )


def stream_routes(deps: DeliveryDeps, prefix: str = "/stream") -> list[Route]:
    """The stream routes under ``prefix``; each call has its own playback cache."""
    stream = StreamHandlers(deps)
    return [
        Route(f"{prefix}/{{name}}", stream.manifest, methods=METHODS),
        Route(f"{prefix}/{{playback_id}}/{{rest:path}}", stream.file, methods=METHODS),
    ]


class StreamHandlers:
    """The endpoints behind :func:`stream_routes`."""

    def __init__(self, deps: DeliveryDeps) -> None:
        self.deps = deps
        self.cache = PlaybackCache(
            self._load, deps.clock, ttl=deps.cache_ttl, max_entries=deps.cache_entries
        )
        self.objects = deps.object_server()

    async def manifest(self, request: Request) -> Response:
        return await answer(request, self._manifest)

    async def file(self, request: Request) -> Response:
        return await answer(request, self._file)

    async def _load(self, playback_id: str) -> Playback | None:
        async with self.deps.sessions() as session:
            return await load_playback(session, playback_id)

    async def _playback(self, playback_id: str, version: int = 0) -> Playback:
        playback = await self.cache.get(playback_id, min_version=version)
        if playback is None:
            raise PlaybackNotFound()
        return playback

    async def _manifest(self, request: Request) -> Response:
        wanted = parse_manifest_name(request.path_params["name"])
        playback = await self._playback(wanted.playback_id)
        access = await self.deps.gate.check(playback, Viewer.of(request), VIDEO)
        require_playable(playback)
        cache = access.cache_control(SHORT_CACHE)
        if wanted.manifest is Manifest.HLS:
            options = options_from_query(access.modifiers(request.query_params))
            body = render_master(playback, options, access.grant)
            return text_response(request, body, HLS_TYPE, cache)
        key = dash_manifest_key(playback.environment_id, playback.asset_id, playback.version)
        mpd = with_text_tracks(await self._small_text(key), playback.text_tracks)
        base = served_prefix(playback, access.grant)
        return text_response(request, with_base_url(mpd, base), DASH_TYPE, cache)

    async def _file(self, request: Request) -> Response:
        playback_id = check_playback_id(request.path_params["playback_id"])
        grant, rest = split_grant(request.path_params["rest"])
        wanted: FileRequest = parse_file_path(rest)
        playback = await self._playback(playback_id, wanted.version)
        access: Access = await self.deps.gate.check_file(playback, grant, Viewer.of(request))
        require_playable(playback)
        if wanted.version != playback.version:
            raise PlaybackNotFound()
        prefix = asset_version_prefix(playback.environment_id, playback.asset_id, playback.version)
        key = prefix + wanted.path
        if wanted.is_playlist:
            text = await self._small_text(key)
            return text_response(request, text, HLS_TYPE, access.cache_control(SHORT_CACHE))
        return await self.objects.serve(request, key, cache_control=access.cache_control(IMMUTABLE))

    async def _small_text(self, key: str) -> str:
        try:
            data = await self.deps.store.get_bytes(key)
        except ObjectNotFound:
            raise PlaybackNotFound() from None
        return data.decode()
