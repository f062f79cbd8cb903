"""Static renditions of an asset: ``PUT /video/v1/assets/{id}/mp4-support`` (legacy),
``POST /video/v1/assets/{id}/static-renditions`` and ``DELETE .../static-renditions/{id}``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Response
from fastapi.responses import JSONResponse

from reelhouse.api.auth import principal_dependency
from reelhouse.api.deps import ApiDeps
from reelhouse.api.routers import resource_router
from reelhouse.media import assets, static_renditions
from reelhouse.media.tokens import VIDEO_WRITE, Principal
from reelhouse.schemas.assets import (
    Asset,
    CreateStaticRenditionRequest,
    StaticRenditionFile,
    UpdateMp4SupportRequest,
)
from reelhouse.schemas.envelopes import DataEnvelope, data


def static_renditions_router(deps: ApiDeps) -> APIRouter:
    """The static-rendition endpoints, bound to ``deps``."""
    router = resource_router("/video/v1/assets", "Assets", errors=(400, 401, 404))
    caller = Depends(principal_dependency(deps.sessions, deps.clock))

    @router.put(
        "/{asset_id}/mp4-support",
        response_model=None,
        responses={200: {"model": DataEnvelope[Asset]}},
    )
    async def update_asset_mp4_support(
        asset_id: str,
        body: Annotated[UpdateMp4SupportRequest, Body()],
        principal: Principal = caller,
    ) -> JSONResponse:
        """Set the legacy ``mp4_support``; 200 ``{"data": Asset}``."""
        principal.require(VIDEO_WRITE)
        async with deps.sessions.begin() as session:
            row = await static_renditions.set_mp4_support(
                session,
                principal.environment_id,
                asset_id,
                body.mp4_support,
                now=deps.clock(),
                random_bytes=deps.random_bytes,
            )
            [view] = await assets.asset_views(session, [row])
        return JSONResponse(data(view))

    @router.post(
        "/{asset_id}/static-renditions",
        status_code=201,
        response_model=None,
        responses={201: {"model": DataEnvelope[StaticRenditionFile]}},
    )
    async def create_asset_static_rendition(
        asset_id: str,
        body: Annotated[CreateStaticRenditionRequest, Body()],
        principal: Principal = caller,
    ) -> JSONResponse:
        """Add one file (``preparing``); 201 ``{"data": StaticRendition}``."""
        principal.require(VIDEO_WRITE)
        async with deps.sessions.begin() as session:
            entry = await static_renditions.add_static_rendition(
                session,
                principal.environment_id,
                asset_id,
                body.resolution,
                body.passthrough,
                now=deps.clock(),
                random_bytes=deps.random_bytes,
            )
        return JSONResponse(data(static_renditions.file_view(entry)), status_code=201)

    @router.delete(
        "/{asset_id}/static-renditions/{static_rendition_id}",
        status_code=204,
        response_model=None,
    )
    async def delete_asset_static_rendition(
        asset_id: str, static_rendition_id: str, principal: Principal = caller
    ) -> Response:
        principal.require(VIDEO_WRITE)
        async with deps.sessions.begin() as session:
            await static_renditions.delete_static_rendition(
                session, principal.environment_id, asset_id, static_rendition_id, now=deps.clock()
            )
        return Response(status_code=204)

    return router
