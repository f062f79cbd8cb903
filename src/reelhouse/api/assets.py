"""``/video/v1/assets``: create, list, get, update and delete assets, and read their input info."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Response
from fastapi.responses import JSONResponse

from reelhouse.api.auth import principal_dependency
from reelhouse.api.deps import ApiDeps
from reelhouse.api.routers import PageLimit, PageNumber, resource_router
from reelhouse.errors import InvalidParameters
from reelhouse.logs import get_logger
from reelhouse.media import assets
from reelhouse.media.tokens import VIDEO_READ, VIDEO_WRITE, Principal
from reelhouse.schemas.assets import (
    NO_INPUT_MESSAGE,
    Asset,
    AssetList,
    CreateAssetRequest,
    InputInfo,
    UpdateAssetRequest,
)
from reelhouse.schemas.envelopes import DataEnvelope, data
from reelhouse.storage.errors import StorageError

log = get_logger("reelhouse.api.assets")


def assets_router(deps: ApiDeps) -> APIRouter:
    """The asset endpoints, bound to ``deps``."""
    # Responses are built by hand to omit None fields; the models document the shape.
    router = resource_router("/video/v1/assets", "Assets")
    one = {"model": DataEnvelope[Asset]}
    caller = Depends(principal_dependency(deps.sessions, deps.clock))

    @router.post("", status_code=201, response_model=None, responses={201: one})
    async def create_asset(
        principal: Principal = caller,
        body: Annotated[CreateAssetRequest | None, Body()] = None,
    ) -> JSONResponse:
        """Create an asset from an input URL; 201 ``{"data": Asset}`` with status preparing."""
        principal.require(VIDEO_WRITE)
        if body is None:  # FastAPI reads an empty object as no body
            raise InvalidParameters(NO_INPUT_MESSAGE)
        async with deps.sessions.begin() as session:
            row = await assets.create_asset_from_url(
                session,
                principal.environment_id,
                body,
                now=deps.clock(),
                random_bytes=deps.random_bytes,
            )
            [view] = await assets.asset_views(session, [row])
        return JSONResponse(data(view), status_code=201)

    @router.get("", response_model=None, responses={200: {"model": AssetList}})
    async def list_assets(
        principal: Principal = caller,
        limit: PageLimit = 25,
        page: PageNumber = 1,
        cursor: Annotated[str | None, Query(max_length=512)] = None,
        upload_id: Annotated[str | None, Query(max_length=255)] = None,
        live_stream_id: Annotated[str | None, Query(max_length=255)] = None,
    ) -> JSONResponse:
        """Newest first with ``next_cursor`` (null on the last page)."""
        principal.require(VIDEO_READ)
        if live_stream_id:  # no live streams here: none of their assets exist
            return JSONResponse({"data": [], "next_cursor": None})
        async with deps.sessions() as session:
            rows, next_cursor = await assets.list_assets(
                session,
                principal.environment_id,
                limit=limit,
                page=page,
                cursor=cursor or None,
                upload_id=upload_id,
            )
            views = await assets.asset_views(session, rows)
        return JSONResponse({"data": views, "next_cursor": next_cursor})

    @router.get("/{asset_id}", response_model=None, responses={200: one})
    async def get_asset(asset_id: str, principal: Principal = caller) -> JSONResponse:
        principal.require(VIDEO_READ)
        async with deps.sessions() as session:
            row = await assets.get_asset(session, principal.environment_id, asset_id)
            [view] = await assets.asset_views(session, [row])
        return JSONResponse(data(view))

    @router.patch("/{asset_id}", response_model=None, responses={200: one})
    async def update_asset(
        asset_id: str,
        body: Annotated[UpdateAssetRequest, Body()],
        principal: Principal = caller,
    ) -> JSONResponse:
        """Change ``passthrough`` and ``meta``."""
        principal.require(VIDEO_WRITE)
        async with deps.sessions.begin() as session:
            row = await assets.update_asset(
                session, principal.environment_id, asset_id, body, now=deps.clock()
            )
            [view] = await assets.asset_views(session, [row])
        return JSONResponse(data(view))

    @router.delete("/{asset_id}", status_code=204, response_model=None)
    async def delete_asset(asset_id: str, principal: Principal = caller) -> Response:
        """Delete the asset and, once that has committed, its stored objects."""
        principal.require(VIDEO_WRITE)
        async with deps.sessions.begin() as session:
            await assets.delete_asset(session, principal.environment_id, asset_id, now=deps.clock())
        try:
            await deps.delete_asset_objects(principal.environment_id, asset_id)
        except StorageError as exc:
            # The rows are gone either way; what is left is an orphaned prefix, not a 500.
            log.warning("asset.objects_not_deleted", asset_id=asset_id, error=exc.code)
        return Response(status_code=204)

    @router.get(
        "/{asset_id}/input-info",
        response_model=None,
        responses={200: {"model": DataEnvelope[list[InputInfo]]}},
    )
    async def get_asset_input_info(asset_id: str, principal: Principal = caller) -> JSONResponse:
        """What the prepare job found in each input (``[]`` until it has run)."""
        principal.require(VIDEO_READ)
        async with deps.sessions() as session:
            info: list[dict[str, Any]] = await assets.input_info(
                session, principal.environment_id, asset_id
            )
        return JSONResponse(data(info))

    return router
