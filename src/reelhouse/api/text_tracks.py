"""Text tracks of an asset: ``POST /video/v1/assets/{id}/tracks`` and
``DELETE /video/v1/assets/{id}/tracks/{track_id}``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from reelhouse.api.auth import principal_dependency
from reelhouse.api.deps import ApiDeps
from reelhouse.api.routers import resource_router
from reelhouse.media import text_tracks
from reelhouse.media.tokens import VIDEO_WRITE, Principal
from reelhouse.schemas.assets import URL_MESSAGE, is_http_url
from reelhouse.schemas.envelopes import DataEnvelope, data


class CreateTrackRequest(BaseModel):
    """``POST .../tracks``: a subtitles file (SRT or WebVTT) at ``url``. Only text tracks
    are taken (``type: audio`` is refused: audio tracks cannot be added here)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=4096)
    type: Literal["text"]
    text_type: Literal["subtitles"] = "subtitles"
    language_code: str = Field(max_length=35)
    name: str | None = Field(default=None, max_length=255)
    closed_captions: bool = False
    passthrough: str | None = Field(default=None, max_length=255)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not is_http_url(value):
            raise PydanticCustomError("url_scheme", URL_MESSAGE)
        return value

    @field_validator("language_code")
    @classmethod
    def _bcp47(cls, value: str) -> str:
        if not text_tracks.LANGUAGE_CODE.match(value):
            raise PydanticCustomError(
                "language_code", "language_code must be a BCP 47 code such as en or pt-BR"
            )
        return value

    @field_validator("name")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value is not None and not text_tracks.printable_name(value):
            raise PydanticCustomError("name", "name must be printable text without double quotes")
        return value


class TextTrackView(BaseModel):
    """The Track object of a text track (what ``POST .../tracks`` answers)."""

    id: str
    type: Literal["text"]
    text_type: Literal["subtitles"]
    text_source: Literal["uploaded"]
    language_code: str
    name: str
    closed_captions: bool
    passthrough: str | None = None
    status: Literal["preparing", "ready", "errored", "deleted"]
    error: dict[str, Any] | None = None


def text_tracks_router(deps: ApiDeps) -> APIRouter:
    """The text-track endpoints, bound to ``deps``."""
    router = resource_router("/video/v1/assets", "Assets", errors=(400, 401, 404))
    caller = Depends(principal_dependency(deps.sessions, deps.clock))

    @router.post(
        "/{asset_id}/tracks",
        status_code=201,
        response_model=None,
        responses={201: {"model": DataEnvelope[TextTrackView]}},
    )
    async def create_asset_track(
        asset_id: str,
        body: Annotated[CreateTrackRequest, Body()],
        principal: Principal = caller,
    ) -> JSONResponse:
        """Add a subtitles track from a caption file URL; 201 ``{"data": Track}`` with status
        preparing (``video.asset.track.ready`` or ``.errored`` follows)."""
        principal.require(VIDEO_WRITE)
        wanted = text_tracks.NewTextTrack(
            url=body.url,
            language_code=body.language_code,
            name=body.name.strip() if body.name else None,
            closed_captions=body.closed_captions,
            passthrough=body.passthrough,
        )
        async with deps.sessions.begin() as session:
            track = await text_tracks.add_text_track(
                session,
                principal.environment_id,
                asset_id,
                wanted,
                now=deps.clock(),
                random_bytes=deps.random_bytes,
            )
            view = text_tracks.track_view(track)
        return JSONResponse(data(view), status_code=201)

    @router.delete("/{asset_id}/tracks/{track_id}", status_code=204, response_model=None)
    async def delete_asset_track(
        asset_id: str, track_id: str, principal: Principal = caller
    ) -> Response:
        """Delete a text track (a video or audio track is refused with 400)."""
        principal.require(VIDEO_WRITE)
        async with deps.sessions.begin() as session:
            await text_tracks.delete_text_track(
                session, principal.environment_id, asset_id, track_id, now=deps.clock()
            )
        return Response(status_code=204)

    return router
