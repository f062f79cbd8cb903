"""``/video/v1/uploads``: create, list, get and cancel direct uploads."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from fastapi.responses import JSONResponse

from reelhouse.api.auth import principal_dependency
from reelhouse.api.deps import ApiDeps
from reelhouse.api.routers import PageLimit, PageNumber, resource_router
from reelhouse.media import uploads
from reelhouse.media.tokens import VIDEO_READ, VIDEO_WRITE, Principal
from reelhouse.schemas.envelopes import DataEnvelope, data
from reelhouse.schemas.uploads import CreateUploadRequest, Upload


def _json(payload: dict[str, Any], status_code: int = 200) -> JSONResponse:
    return JSONResponse(payload, status_code=status_code)


def uploads_router(deps: ApiDeps) -> APIRouter:
    """The direct-upload endpoints, bound to ``deps``."""
    # Responses are built by hand to omit None fields; the models document the shape.
    router = resource_router("/video/v1/uploads", "Direct Uploads")
    one = {"model": DataEnvelope[Upload]}
    # A default-value Depends: with postponed annotations FastAPI cannot see a local alias.
    caller = Depends(principal_dependency(deps.sessions, deps.clock))

    def view(row: Any) -> dict[str, Any]:
        return uploads.upload_view(row, deps.base_url).wire()

    @router.post("", status_code=201, response_model=None, responses={201: one})
    async def create_direct_upload(
        principal: Principal = caller,
        body: Annotated[CreateUploadRequest | None, Body()] = None,
    ) -> JSONResponse:
        """Create an upload URL; 201 ``{"data": Upload}``."""
        principal.require(VIDEO_WRITE)
        request = body or CreateUploadRequest()
        async with deps.sessions.begin() as session:
            row = await uploads.create_direct_upload(
                session,
                principal,
                request,
                now=deps.clock(),
                base_url=deps.base_url,
                random_bytes=deps.random_bytes,
            )
            payload = data(view(row))
        return _json(payload, 201)

    @router.get("", response_model=None, responses={200: {"model": DataEnvelope[list[Upload]]}})
    async def list_direct_uploads(
        principal: Principal = caller,
        limit: PageLimit = 25,
        page: PageNumber = 1,
    ) -> JSONResponse:
        """Newest first; a page past the end is ``{"data": []}``."""
        principal.require(VIDEO_READ)
        async with deps.sessions() as session:
            rows = await uploads.list_direct_uploads(session, principal.environment_id, limit, page)
            payload = data([view(row) for row in rows])
        return _json(payload)

    @router.get("/{upload_id}", response_model=None, responses={200: one})
    async def get_direct_upload(upload_id: str, principal: Principal = caller) -> JSONResponse:
        principal.require(VIDEO_READ)
        async with deps.sessions() as session:
            row = await uploads.get_direct_upload(session, principal.environment_id, upload_id)
            payload = data(view(row))
        return _json(payload)

    @router.put("/{upload_id}/cancel", response_model=None, responses={200: one})
    async def cancel_direct_upload(upload_id: str, principal: Principal = caller) -> JSONResponse:
        """Cancel a waiting upload (403 in any other state but cancelled)."""
        principal.require(VIDEO_WRITE)
        async with deps.sessions.begin() as session:
            row = await uploads.cancel_direct_upload(
                session, principal.environment_id, upload_id, now=deps.clock()
            )
            payload = data(view(row))
        return _json(payload)

    return router
