"""The upload page and the direct uploads it creates::

    GET  /upload                 drag-and-drop uploads with tus-js-client
    POST /dashboard/api/uploads  ``{"name", "size", "type"?}`` -> a direct upload's ``url``

The environment's size limit and the file's kind are checked here, before a byte moves (the page
checks both first, with the same words and the lists it is given here); the file's name becomes
the new video's title (Mux's ``meta.title``). See docs/dashboard.md.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reelhouse.media.tokens import VIDEO_WRITE
from reelhouse.media.uploads import create_direct_upload, environment_upload_limit, upload_url
from reelhouse.schemas.uploads import AssetMeta, CreateUploadRequest, NewAssetSettings
from reelhouse.web.dashboard import Dashboard, human_bytes, origin_of
from reelhouse.web.sessions import DashboardSession

# File name extensions of video and audio containers FFmpeg reads. Browsers guess a file's MIME
# type from its extension and often guess wrong for these (``.ts`` as a Qt translation file,
# ``.mkv`` often as nothing), so a known extension outweighs the type.
# fmt: off
MEDIA_EXTENSIONS = (
    "3g2", "3gp", "amv", "asf", "avi", "divx", "dv", "f4v", "flv", "h264", "h265", "hevc",
    "m1v", "m2t", "m2ts", "m2v", "m4v", "mj2", "mjpeg", "mkv", "mov", "mp4", "mpe", "mpeg", "mpg",
    "mts", "mxf", "nut", "ogm", "ogv", "qt", "rm", "rmvb", "ts", "vob", "webm", "wmv", "y4m",
    "aac", "aif", "aiff", "flac", "m4a", "mka", "mp2", "mp3", "oga", "ogg", "opus", "wav", "weba",
    "wma",
)
# fmt: on
# MIME types that are neither video/* nor audio/* and may still hold a video.
MEDIA_TYPES = (
    "application/octet-stream",
    "application/mp4",
    "application/mxf",
    "application/ogg",
    "application/vnd.rn-realmedia",
    "application/vnd.rn-realmedia-vbr",
    "application/x-matroska",
    "application/x-mpegts",
    "application/x-troff-msvideo",
)


def not_a_video(name: str, mime: str) -> str | None:
    """The refusal for a file that is clearly not audio or video, else None. Pure.

    Clearly means both: ``mime`` is given and is not ``video/*``, ``audio/*`` or one of
    :data:`MEDIA_TYPES`, and ``name`` has no extension in :data:`MEDIA_EXTENSIONS`. A
    convenience, not a check the server relies on: every upload is probed all the same.
    """
    kind = mime.strip().lower()
    if not kind or kind.startswith(("video/", "audio/")) or kind in MEDIA_TYPES:
        return None
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension in MEDIA_EXTENSIONS:
        return None
    return f"{name} is not a video file ({kind}). Choose a video such as .mp4, .mov, .mkv or .webm."


def too_large(name: str, size: int, limit: int) -> str | None:
    """The refusal for a file over ``limit`` bytes, else None. Pure."""
    if size <= limit:
        return None
    return f"{name} is {human_bytes(size)}; the limit is {human_bytes(limit)} ({limit} bytes)."


class UploadPage:
    """The upload page's endpoints of one :class:`Dashboard`."""

    def __init__(self, board: Dashboard) -> None:
        self.board = board

    async def upload_page(self, request: Request) -> Response:
        session = await self.board.gate(request, VIDEO_WRITE)
        if not isinstance(session, DashboardSession):
            return session
        limit = await self._limit(session.environment_id)
        context = {
            "csrf": session.csrf,
            "accept": ",".join(["video/*", "audio/*", *(f".{e}" for e in MEDIA_EXTENSIONS)]),
            "extensions": " ".join(MEDIA_EXTENSIONS),
            "media_types": " ".join(MEDIA_TYPES),
            "limit": limit,
            "limit_text": human_bytes(limit),
            "nav": "upload",
        }
        return self.board.page(request, "upload.html", context)

    async def _limit(self, environment_id: str) -> int:
        async with self.board.deps.sessions() as db:
            own = await environment_upload_limit(db, environment_id)
        return own if own is not None else self.board.deps.default_max_upload_bytes

    async def api_create_upload(self, request: Request) -> Response:
        session = await self.board.gate_json(request, VIDEO_WRITE, write=True)
        if not isinstance(session, DashboardSession):
            return session
        try:
            body = json.loads(await request.body())
            name, size = str(body["name"])[:255], int(body["size"])
            mime = str(body.get("type") or "")[:255]
        except (ValueError, TypeError, KeyError):
            return JSONResponse({"error": "send {name, size}"}, status_code=400)
        wrong_kind = not_a_video(name, mime)
        if wrong_kind:
            return JSONResponse({"error": wrong_kind}, status_code=415)
        limit = await self._limit(session.environment_id)
        refusal = too_large(name, size, limit)
        if refusal:
            return JSONResponse({"error": refusal, "limit": limit}, status_code=413)
        now = self.board.deps.clock()
        # Public playback, so the asset page can preview it in the embed player; the file's
        # name as the title (Mux's meta.title), whichever protocol then carries the bytes.
        settings = NewAssetSettings(
            playback_policy=["public"], meta=AssetMeta(title=name.strip() or None)
        )
        request_body = CreateUploadRequest(
            cors_origin=origin_of(self.board.deps.base_url), new_asset_settings=settings
        )
        async with self.board.deps.sessions.begin() as db:
            upload = await create_direct_upload(
                db, session.environment_id, request_body, now=now, base_url=self.board.deps.base_url
            )
        url = upload_url(self.board.deps.base_url, upload.id)
        return JSONResponse({"id": upload.id, "url": url}, status_code=201)


def upload_page_routes(board: Dashboard) -> list[Route]:
    page = UploadPage(board)
    return [
        Route("/upload", page.upload_page, methods=["GET", "HEAD"]),
        Route("/dashboard/api/uploads", page.api_create_upload, methods=["POST"]),
    ]
