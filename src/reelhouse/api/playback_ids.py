"""Playback ids: ``/video/v1/assets/{id}/playback-ids`` and ``/video/v1/playback-ids/{id}``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Response
from fastapi.responses import JSONResponse

from reelhouse.api.auth import principal_dependency
from reelhouse.api.deps import ApiDeps
from reelhouse.api.routers import resource_router
from reelhouse.media import playback_ids
from reelhouse.media.tokens import VIDEO_READ, VIDEO_WRITE, Principal
from reelhouse.schemas.assets import CreatePlaybackIdRequest, PlaybackIdLookup, PlaybackIdView
from reelhouse.schemas.envelopes import DataEnvelope, data


def playback_ids_router(deps: ApiDeps) -> APIRouter:
    """The playback-id endpoints, bound to ``deps``."""
    router = resource_router("/video/v1", "Playback ID")
    one = {"model": DataEnvelope[PlaybackIdView]}
    caller = Depends(principal_dependency(deps.sessions, deps.clock))

    @router.post(
        "/assets/{asset_id}/playback-ids",
        status_code=201,
        response_model=None,
        responses={201: one},
    )
    async def create_asset_playback_id(
        asset_id: str,
        principal: Principal = caller,
        body: Annotated[CreatePlaybackIdRequest | None, Body()] = None,
    ) -> JSONResponse:
        """Add a public or signed playback id; 201 ``{"data": {"id", "policy"}}``."""
        principal.require(VIDEO_WRITE)
        request = body or CreatePlaybackIdRequest()
        async with deps.sessions.begin() as session:
            row = await playback_ids.create_playback_id(
                session,
                principal.environment_id,
                asset_id,
                request.policy,
                now=deps.clock(),
                random_bytes=deps.random_bytes,
            )
            payload = data(playback_ids.playback_id_view(row))
        return JSONResponse(payload, status_code=201)

    @router.get(
        "/assets/{asset_id}/playback-ids/{playback_id}", response_model=None, responses={200: one}
    )
    async def get_asset_playback_id(
        asset_id: str, playback_id: str, principal: Principal = caller
    ) -> JSONResponse:
        principal.require(VIDEO_READ)
        async with deps.sessions() as session:
            row = await playback_ids.get_playback_id(
                session, principal.environment_id, asset_id, playback_id
            )
            payload = data(playback_ids.playback_id_view(row))
        return JSONResponse(payload)

    @router.delete(
        "/assets/{asset_id}/playback-ids/{playback_id}", status_code=204, response_model=None
    )
    async def delete_asset_playback_id(
        asset_id: str, playback_id: str, principal: Principal = caller
    ) -> Response:
        principal.require(VIDEO_WRITE)
        async with deps.sessions.begin() as session:
            await playback_ids.delete_playback_id(
                session, principal.environment_id, asset_id, playback_id
            )
        return Response(status_code=204)

    @router.get(
        "/playback-ids/{playback_id}",
        response_model=None,
        responses={200: {"model": DataEnvelope[PlaybackIdLookup]}},
    )
    async def get_asset_or_livestream_id(
        playback_id: str, principal: Principal = caller
    ) -> JSONResponse:
        """Which asset a playback id plays."""
        principal.require(VIDEO_READ)
        async with deps.sessions() as session:
            row = await playback_ids.lookup(session, principal.environment_id, playback_id)
            payload = data(playback_ids.lookup_view(row))
        return JSONResponse(payload)

    return router
