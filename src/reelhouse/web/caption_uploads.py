"""Caption files from the browser (JSON for ``static/asset.js``; session cookie and
``X-CSRF-Token``)::

    POST /dashboard/api/assets/{asset_id}/text-tracks?language_code=en&name=English
         &closed_captions=1&filename=talk.srt          body: the SRT or WebVTT file itself
    -> 201 {id, status: "preparing"}; 400/413 {error} saying what is wrong with the file

The file is checked at once (at most :data:`~reelhouse.pipeline.captions.MAX_BYTES`, UTF-8 SRT
or WebVTT with cues in order: the caption job's own rules), then stored under the asset's prefix
in the transaction that adds its track through
:func:`reelhouse.media.text_tracks.add_text_track`; the ``reelhouse.fetch_text_track`` job
reads it from there, converts it and marks the track ready, as for a caption file URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reelhouse.errors import InvalidParameters, NotFound
from reelhouse.media import text_tracks
from reelhouse.media.tokens import VIDEO_WRITE
from reelhouse.pipeline import captions
from reelhouse.web.asset_views import sentence
from reelhouse.web.dashboard import BodyTooLarge, Dashboard, human_bytes, read_capped
from reelhouse.web.sessions import DashboardSession

MAX_BYTES: Final = captions.MAX_BYTES
MAX_NAME: Final = 255
TOO_LARGE: Final = f"The caption file is larger than {human_bytes(MAX_BYTES)}."


class CaptionUploads:
    """The endpoint behind :func:`caption_upload_routes`."""

    def __init__(self, board: Dashboard) -> None:
        self.board = board
        self.deps = board.deps

    async def upload(self, request: Request) -> Response:
        session = await self.board.gate_json(request, VIDEO_WRITE, write=True)
        if not isinstance(session, DashboardSession):
            return session
        store = self.deps.store
        if store is None:
            error = "This server keeps no files for the dashboard: add the track by URL."
            return JSONResponse({"error": error}, status_code=503)
        try:
            wanted = new_track(request.query_params)
            data = await read_capped(request, MAX_BYTES)
            captions.parse_captions(data)
        except BodyTooLarge:
            return JSONResponse({"error": TOO_LARGE, "limit": MAX_BYTES}, status_code=413)
        except InvalidParameters as exc:
            return JSONResponse({"error": sentence(exc.message)}, status_code=400)
        except captions.CaptionRejected as exc:
            return JSONResponse({"error": exc.message}, status_code=400)
        asset_id = request.path_params["asset_id"]
        try:
            async with self.deps.sessions.begin() as db:
                track = await text_tracks.add_text_track(
                    db, session.environment_id, asset_id, wanted, now=self.deps.clock()
                )
                key = text_tracks.uploaded_source_key(track.environment_id, asset_id, track.id)
                # Stored before the commit that lets the job run; a failure rolls the track back.
                await store.put_bytes(key, data, content_type="text/plain; charset=utf-8")
        except NotFound:
            return JSONResponse({"error": "There is no such video here."}, status_code=404)
        except InvalidParameters as exc:
            return JSONResponse({"error": sentence(exc.message)}, status_code=400)
        body = {"id": track.id, "status": track.status, "name": track.name}
        return JSONResponse(body, status_code=201, headers=self.board.headers())


def new_track(query: Mapping[str, str]) -> text_tracks.NewTextTrack:
    """The track a caption upload's query asks for; ``InvalidParameters`` saying what is
    wrong (language code, name, file name)."""
    get = query.get
    language = str(get("language_code", "")).strip()
    if not text_tracks.LANGUAGE_CODE.match(language):
        raise InvalidParameters("Give a language code such as en or pt-BR.")
    name = str(get("name", "")).strip() or None
    if name is not None and (len(name) > MAX_NAME or not text_tracks.printable_name(name)):
        raise InvalidParameters(
            f"The track name must be printable text without double quotes, at most {MAX_NAME}"
            " characters."
        )
    filename = str(get("filename", "")).replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not filename or len(filename) > MAX_NAME or not filename.isprintable():
        raise InvalidParameters("Choose a caption file (.srt or .vtt).")
    closed = str(get("closed_captions", "")).lower() in ("1", "true", "on", "yes")
    return text_tracks.NewTextTrack(
        url=text_tracks.uploaded_url(filename),
        language_code=language,
        name=name,
        closed_captions=closed,
    )


def caption_upload_routes(board: Dashboard) -> list[Route]:
    uploads = CaptionUploads(board)
    path = "/dashboard/api/assets/{asset_id}/text-tracks"
    return [Route(path, uploads.upload, methods=["POST"])]
