"""The ``/image/`` routes: thumbnails, animated GIF/WebP and storyboards, made on demand.

```
GET|HEAD /image/{playback_id}/thumbnail.{jpg,png,webp}     one frame (time, width, height, ...)
GET|HEAD /image/{playback_id}/animated.{gif,webp}          start..end (<= 10 s), width, fps
GET|HEAD /image/{playback_id}/storyboard.{jpg,webp}        the sprite, made once per version
GET|HEAD /image/{playback_id}/storyboard.{vtt,json}        its tiles (?format=jpg|webp)
OPTIONS  (any of them)                                     CORS preflight
```

A rendered image is stored under ``thumbnail_cache_key`` by a hash of its *normalised*
parameters and the output version, so equivalent URLs share one object and a new version
never serves an old frame. Concurrent identical requests share one computation (in-process
single flight keyed by the object key); at most ``max_concurrent`` FFmpeg runs per process,
the rest wait. Frames come from the asset's source file when it is on this machine (thumbnails),
else from the best published rendition: its init segment and the media segments around the
wanted time are copied into one local file, and FFmpeg seeks in it with ``-ss`` before ``-i``.
The storyboard (sprite + ``layout.json``) is normally made by the ``reelhouse.make_storyboard``
job; a request that finds none builds it the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import shutil
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reelhouse.db.models import Asset
from reelhouse.delivery.access import (
    GIF,
    STORYBOARD,
    THUMBNAIL,
    PlaybackGate,
    PublicOnly,
    Viewer,
)
from reelhouse.delivery.errors import (
    DeliveryError,
    MalformedPlaybackId,
    PlaybackNotFound,
)
from reelhouse.delivery.files import ObjectServer
from reelhouse.delivery.paths import check_playback_id
from reelhouse.delivery.playbacks import (
    Playback,
    PlaybackCache,
    PublishedRendition,
    load_playback,
    require_playable,
)
from reelhouse.delivery.ranges import none_match, quote_etag
from reelhouse.delivery.responses import CORS, answer
from reelhouse.logs import get_logger
from reelhouse.pipeline import images, runner
from reelhouse.pipeline.errors import PipelineError
from reelhouse.pipeline.playlists import MediaPlaylist, parse_media_playlist
from reelhouse.pipeline.probe import CONTAINER_ALLOWLIST
from reelhouse.storage.content_types import guess_content_type
from reelhouse.storage.errors import ObjectNotFound
from reelhouse.storage.layout import storyboard_key, thumbnail_cache_key
from reelhouse.storage.protocols import ObjectStore

METHODS = ["GET", "HEAD", "OPTIONS"]
AUDIENCES = {"thumbnail": THUMBNAIL, "animated": GIF, "storyboard": STORYBOARD}
NAMES = {
    "thumbnail": images.STILL_FORMATS,
    "animated": images.ANIMATED_FORMATS,
    "storyboard": frozenset({"vtt", "json", *images.STORYBOARD_IMAGE_FORMATS}),
}
IMAGE_CACHE = "public, max-age=3600"
LAYOUT_NAME = "layout.json"
OUTPUT_DEMUXER = "mp4"  # our fMP4 renditions
IMAGE_LIMITS = runner.ResourceLimits(cpu_seconds=120, address_space_bytes=4 << 30)

Run = Callable[..., Awaitable[runner.Completed]]
log = get_logger("reelhouse.images")


class InvalidImageRequest(MalformedPlaybackId):
    """A parameter out of range (400, Mux's ``invalid_parameters``); the message names it."""

    def __init__(self, message: str) -> None:
        DeliveryError.__init__(self, message)


class ImageFailed(DeliveryError):
    """FFmpeg could not make the image (answered 500; details go to the logs)."""

    code = "internal_error"


@dataclass(frozen=True)
class ImageDeps:
    """What the image routes run on. ``scratch_dir`` holds short-lived working files;
    ``uploads_dir``/``inputs_dir`` are where sources live on this machine (as for the media
    jobs; None: never read sources here); ``public_url`` is the base of the sprite URLs in
    ``storyboard.vtt`` (None: the request's own scheme and host)."""

    sessions: async_sessionmaker[AsyncSession]
    store: ObjectStore
    clock: Callable[[], datetime]
    ffmpeg: str
    scratch_dir: Path
    gate: PlaybackGate = field(default_factory=PublicOnly)
    uploads_dir: Path | None = None
    inputs_dir: Path | None = None
    public_url: str | None = None
    max_concurrent: int = 2
    timeout: float = 30.0
    cache_control: str = IMAGE_CACHE
    cache_ttl: float = 1.0
    cache_entries: int = 10_000
    run: Run = runner.run


def image_routes(deps: ImageDeps, prefix: str = "/image") -> list[Route]:
    """The image routes under ``prefix``; each call has its own caches and FFmpeg slots."""
    handlers = ImageHandlers(deps, prefix)
    return [Route(f"{prefix}/{{playback_id}}/{{name}}", handlers.image, methods=METHODS)]


class SingleFlight:
    """Runs one ``make()`` per key at a time; concurrent callers of a key await the same run
    (and share its exception). A caller that goes away does not cancel the others' run."""

    def __init__(self) -> None:
        self._running: dict[str, asyncio.Future[None]] = {}

    async def run(self, key: str, make: Callable[[], Awaitable[None]]) -> None:
        task = self._running.get(key)
        if task is None:
            task = asyncio.ensure_future(make())
            self._running[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        await asyncio.shield(task)

    def _finished(self, key: str, task: asyncio.Future[None]) -> None:
        if self._running.get(key) is task:
            del self._running[key]
        if not task.cancelled():
            task.exception()  # retrieved: nobody may be left awaiting it


@dataclass(frozen=True)
class AssetFacts:
    """What an image needs beyond the playback: the duration and the local source, if any."""

    duration: float
    source: Path | None
    demuxer: str | None


@dataclass(frozen=True)
class StoryboardTarget:
    environment_id: str
    asset_id: str
    version: int
    duration: float
    renditions: tuple[PublishedRendition, ...]


class ImageHandlers:
    """The endpoint behind :func:`image_routes`."""

    def __init__(self, deps: ImageDeps, prefix: str) -> None:
        self.deps = deps
        self.prefix = prefix
        self.cache = PlaybackCache(
            self._load, deps.clock, ttl=deps.cache_ttl, max_entries=deps.cache_entries
        )
        self.objects = ObjectServer(deps.store)
        self.flights = SingleFlight()
        self.slots = asyncio.Semaphore(deps.max_concurrent)
        self._facts: OrderedDict[tuple[str, int], AssetFacts] = OrderedDict()

    async def image(self, request: Request) -> Response:
        return await answer(request, self._checked_image)

    async def _checked_image(self, request: Request) -> Response:
        try:
            return await self._image(request)
        except images.InvalidImageParameter as exc:
            raise InvalidImageRequest(exc.message) from None

    async def _load(self, playback_id: str) -> Playback | None:
        async with self.deps.sessions() as session:
            return await load_playback(session, playback_id)

    async def _image(self, request: Request) -> Response:
        playback_id = check_playback_id(request.path_params["playback_id"])
        kind, _, ext = str(request.path_params["name"]).partition(".")
        if ext not in NAMES.get(kind, ()):
            raise PlaybackNotFound()
        playback = await self.cache.get(playback_id)
        if playback is None:
            raise PlaybackNotFound()
        access = await self.deps.gate.check(playback, Viewer.of(request), AUDIENCES[kind])
        require_playable(playback)
        if not _videos(playback):
            raise PlaybackNotFound()  # audio-only: nothing to show
        facts = await self._asset_facts(playback)
        cache = access.cache_control(self.deps.cache_control)
        if kind == "storyboard":
            return await self._storyboard(request, playback, facts, ext, cache)
        query = dict(access.modifiers(request.query_params))
        key = await self._rendered(playback, facts, kind, ext, query)
        return await self.objects.serve(request, key, cache_control=cache)

    async def _asset_facts(self, playback: Playback) -> AssetFacts:
        cache_key = (playback.asset_id, playback.version)
        if (known := self._facts.get(cache_key)) is not None:
            return known
        async with self.deps.sessions() as session:
            row = (
                await session.execute(
                    select(Asset.duration, Asset.upload_id, Asset.input_info).where(
                        Asset.id == playback.asset_id
                    )
                )
            ).one_or_none()
        if row is None:
            raise PlaybackNotFound()
        duration, upload_id, input_info = row
        facts = AssetFacts(float(duration or 0.0), *self._source(playback, upload_id, input_info))
        self._facts[cache_key] = facts
        while len(self._facts) > self.deps.cache_entries:
            self._facts.popitem(last=False)
        return facts

    def _source(
        self, playback: Playback, upload_id: str | None, input_info: Any
    ) -> tuple[Path | None, str | None]:
        """The source file on this machine and its probed demuxer, when both are known."""
        folder = self.deps.uploads_dir if upload_id else self.deps.inputs_dir
        if folder is None:
            return None, None
        path = folder / (upload_id or playback.asset_id)
        try:
            container = str(input_info[0]["file"]["container_format"])
        except (TypeError, LookupError):
            return None, None
        if container not in CONTAINER_ALLOWLIST:
            return None, None
        return path, container.split(",")[0]

    # -- thumbnails and animated images ---------------------------------------------------------

    async def _rendered(
        self, playback: Playback, facts: AssetFacts, kind: str, ext: str, query: dict[str, str]
    ) -> str:
        params: images.ThumbnailParams | images.AnimatedParams
        if kind == "thumbnail":
            params = images.parse_thumbnail(query, ext, facts.duration)
        else:
            params = images.parse_animated(query, ext, facts.duration)
        digest = images.params_hash(kind, params, playback.version)
        key = thumbnail_cache_key(playback.environment_id, playback.asset_id, digest, ext)
        if not await self.deps.store.exists(key):
            await self.flights.run(key, lambda: self._render(playback, facts, params, key))
        return key

    async def _render(
        self,
        playback: Playback,
        facts: AssetFacts,
        params: images.ThumbnailParams | images.AnimatedParams,
        key: str,
    ) -> None:
        if await self.deps.store.exists(key):  # another request finished it meanwhile
            return
        async with self.slots, scratch(self.deps.scratch_dir) as work:
            out = work / f"out.{params.format}"
            if isinstance(params, images.ThumbnailParams):
                path, demuxer, seek = await self._still_source(playback, facts, params, work)
                argv = images.thumbnail_argv(self.deps.ffmpeg, path, demuxer, seek, params, out)
            else:
                wanted = (params.width or 0, params.height or 0)
                path, seek = await _window_file(
                    self.deps.store, _pick(playback, *wanted), params.start, params.end, work
                )
                argv = images.animated_argv(
                    self.deps.ffmpeg, path, OUTPUT_DEMUXER, seek, params, out
                )
            await self._ffmpeg(argv, [out])
            await self.deps.store.put_bytes(key, await anyio.Path(out).read_bytes())

    async def _still_source(
        self, playback: Playback, facts: AssetFacts, params: images.ThumbnailParams, work: Path
    ) -> tuple[Path, str, float]:
        if facts.source is not None and facts.demuxer and await anyio.Path(facts.source).is_file():
            return facts.source, facts.demuxer, params.time
        huge = 1 << 30  # no size asked: the top rung
        wanted = (params.width or huge, params.height or huge)
        if params.width or params.height:
            wanted = (params.width or 0, params.height or 0)
        if params.rotate in (90, 270):
            wanted = (wanted[1], wanted[0])
        rendition = _pick(playback, *wanted)
        path, seek = await _window_file(self.deps.store, rendition, params.time, params.time, work)
        return path, OUTPUT_DEMUXER, seek

    async def _ffmpeg(self, argv: list[str], outputs: Sequence[Path]) -> None:
        await ffmpeg_outputs(self.deps.run, argv, outputs, self.deps.timeout)

    # -- storyboards ----------------------------------------------------------------------------

    async def _storyboard(
        self,
        request: Request,
        playback: Playback,
        facts: AssetFacts,
        ext: str,
        cache: str,
    ) -> Response:
        """The sprite, or its tiles as WebVTT/JSON pointing at ``storyboard.{format}`` (the
        ``format`` query value, which mux-player sends with the token of a signed id too)."""
        target = StoryboardTarget(
            playback.environment_id,
            playback.asset_id,
            playback.version,
            facts.duration,
            playback.renditions,
        )
        layout_key = storyboard_key(
            target.environment_id, target.asset_id, target.version, LAYOUT_NAME
        )
        if not await self.deps.store.exists(layout_key):
            await self.flights.run(layout_key, lambda: self._build_storyboard(target))
        if ext in images.STORYBOARD_IMAGE_FORMATS:
            key = storyboard_key(
                target.environment_id, target.asset_id, target.version, f"storyboard.{ext}"
            )
            return await self.objects.serve(request, key, cache_control=cache)
        try:
            layout = images.StoryboardLayout.from_json(
                json.loads(await self.deps.store.get_bytes(layout_key))
            )
        except ObjectNotFound:
            raise PlaybackNotFound() from None
        fmt = request.query_params.get("format") or "jpg"
        if fmt not in images.STORYBOARD_IMAGE_FORMATS:
            raise InvalidImageRequest(f"format must be one of jpg, webp, not {fmt[:32]!r}")
        url = self._sprite_url(request, playback.playback_id, fmt)
        if ext == "vtt":
            body = images.render_vtt(layout, url)
        else:
            body = json.dumps(images.render_json(layout, url), separators=(",", ":"))
        return _document(request, body, guess_content_type(f"x.{ext}"), cache)

    async def _build_storyboard(self, target: StoryboardTarget) -> None:
        async with self.slots:
            await build_storyboard(
                self.deps.store,
                target,
                ffmpeg=self.deps.ffmpeg,
                scratch_dir=self.deps.scratch_dir,
                run=self.deps.run,
            )

    def _sprite_url(self, request: Request, playback_id: str, fmt: str) -> str:
        base = self.deps.public_url or f"{request.url.scheme}://{request.url.netloc}"
        url = f"{base.rstrip('/')}{self.prefix}/{playback_id}/storyboard.{fmt}"
        token = request.query_params.get("token")
        # Percent-encoded: a JWT is unchanged (its characters are all unreserved), while an
        # unchecked value (a public id ignores the token) cannot add lines or cues to the VTT.
        return f"{url}?token={quote(token, safe='')}" if token else url


# -- the shell shared with the storyboard job ----------------------------------------------------


async def build_storyboard(
    store: ObjectStore,
    target: StoryboardTarget,
    *,
    ffmpeg: str,
    scratch_dir: Path,
    run: Run = runner.run,
) -> images.StoryboardLayout:
    """Make and store the sprite (jpg and webp) and ``layout.json`` of one output version,
    unless ``layout.json`` is there already (it is written last, so it means "complete")."""
    env, asset, version = target.environment_id, target.asset_id, target.version
    layout_key = storyboard_key(env, asset, version, LAYOUT_NAME)
    with contextlib.suppress(ObjectNotFound):
        return images.StoryboardLayout.from_json(json.loads(await store.get_bytes(layout_key)))
    videos = [r for r in target.renditions if r.kind == "video" and r.width and r.height]
    if not videos:
        raise PlaybackNotFound()
    tile = images.STORYBOARD_TILE_WIDTH
    sizes = [(r.width or 0, r.height or 0) for r in videos]
    rendition = videos[images.pick_rendition(sizes, tile, 0)]
    duration = target.duration or await _playlist_duration(store, rendition)
    layout = images.plan_storyboard(duration, rendition.width or tile, rendition.height or tile)
    async with scratch(scratch_dir) as work:
        path, _seek = await _window_file(store, rendition, 0.0, duration, work)
        outputs = {fmt: work / f"storyboard.{fmt}" for fmt in images.STORYBOARD_IMAGE_FORMATS}
        argv = images.storyboard_argv(ffmpeg, path, OUTPUT_DEMUXER, layout, outputs)
        await ffmpeg_outputs(run, argv, list(outputs.values()), max(60.0, duration))
        for fmt, out in outputs.items():
            await store.put_file(storyboard_key(env, asset, version, f"storyboard.{fmt}"), out)
    await store.put_bytes(layout_key, json.dumps(layout.to_json()).encode())
    return layout


async def ffmpeg_outputs(
    run: Run, argv: list[str], outputs: Sequence[Path], timeout: float
) -> None:
    """Run FFmpeg; raise :class:`ImageFailed` unless it succeeded and wrote every output."""
    try:
        done = await run(argv, timeout=timeout, limits=IMAGE_LIMITS)
    except (PipelineError, OSError) as exc:
        log.warning("image.failed", reason=str(exc))
        raise ImageFailed("The image could not be made") from exc
    written = all(p.is_file() and p.stat().st_size > 0 for p in outputs)
    if not done.ok or not written:
        log.warning("image.failed", returncode=done.returncode, stderr=done.stderr_text()[-2000:])
        raise ImageFailed("The image could not be made") from RuntimeError(
            done.stderr_text()[-2000:]
        )


@contextlib.asynccontextmanager
async def scratch(scratch_dir: Path) -> AsyncIterator[Path]:
    """A fresh working directory under ``scratch_dir``, removed afterwards."""
    work = scratch_dir / "images" / uuid.uuid4().hex
    await anyio.Path(work).mkdir(parents=True)
    try:
        yield work
    finally:
        await anyio.to_thread.run_sync(lambda: shutil.rmtree(work, ignore_errors=True))


def _videos(playback: Playback) -> list[PublishedRendition]:
    return [r for r in playback.renditions if r.kind == "video" and r.width and r.height]


def _pick(playback: Playback, min_width: int, min_height: int) -> PublishedRendition:
    videos = _videos(playback)
    sizes = [(r.width or 0, r.height or 0) for r in videos]
    return videos[images.pick_rendition(sizes, min_width, min_height)]


async def _playlist(store: ObjectStore, rendition: PublishedRendition) -> MediaPlaylist:
    try:
        text = (await store.get_bytes(rendition.playlist_key)).decode()
    except ObjectNotFound:
        raise PlaybackNotFound() from None
    return parse_media_playlist(text)


async def _playlist_duration(store: ObjectStore, rendition: PublishedRendition) -> float:
    return (await _playlist(store, rendition)).duration


async def _window_file(
    store: ObjectStore, rendition: PublishedRendition, start: float, end: float, work: Path
) -> tuple[Path, float]:
    """Copy the rendition's init segment and the media segments holding ``start..end`` into
    one local fMP4 file; return it and where ``start`` falls in it (seconds)."""
    playlist = await _playlist(store, rendition)
    if playlist.init_uri is None:
        raise PlaybackNotFound()
    window = images.segment_window(playlist, start, end)
    base = rendition.playlist_key.rsplit("/", 1)[0] + "/"
    path = work / "window.mp4"
    async with await anyio.open_file(path, "wb") as handle:
        for uri in (playlist.init_uri, *window.uris):
            try:
                async for chunk in store.open_range(base + uri):
                    await handle.write(chunk)
            except ObjectNotFound:
                raise PlaybackNotFound() from None
    return path, max(0.0, start - window.first_start)


def _document(request: Request, body: str, media_type: str, cache: str) -> Response:
    data = body.encode()
    etag = hashlib.sha256(data).hexdigest()[:32]
    headers = {**CORS, "Cache-Control": cache, "ETag": quote_etag(etag)}
    if none_match(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    headers["Content-Length"] = str(len(data))
    content = b"" if request.method == "HEAD" else data
    return Response(content, headers=headers, media_type=media_type)
