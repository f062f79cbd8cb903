"""``/system/v1/signing-keys``: RSA signing keys for playback tokens.

The private key is in the creation answer only (base64 of its PEM, as Mux returns it); reelhouse
keeps the public key. mux-python sends ``Content-Type: application/json`` with no body on the
create call, so the route takes no body at all.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from reelhouse.api.auth import principal_dependency
from reelhouse.api.deps import ApiDeps
from reelhouse.api.routers import PageLimit, PageNumber, resource_router
from reelhouse.media import signing_keys
from reelhouse.media.tokens import SYSTEM_READ, SYSTEM_WRITE, Principal
from reelhouse.schemas.envelopes import DataEnvelope, data


class SigningKeyView(BaseModel):
    id: str
    created_at: str
    private_key: str | None = None


def signing_keys_router(deps: ApiDeps) -> APIRouter:
    """The signing-key endpoints, bound to ``deps``."""
    router = resource_router("/system/v1", "Signing Keys")
    caller = Depends(principal_dependency(deps.sessions, deps.clock))
    one = {"model": DataEnvelope[SigningKeyView]}

    @router.post("/signing-keys", status_code=201, response_model=None, responses={201: one})
    async def create_signing_key(principal: Principal = caller) -> JSONResponse:
        """A new RSA-2048 key; 201 ``{"data": {"id", "created_at", "private_key"}}``, the
        only time the private key is shown."""
        principal.require(SYSTEM_WRITE)
        private_pem, public_pem = await asyncio.to_thread(signing_keys.generate_key_pair)
        async with deps.sessions.begin() as session:
            row = await signing_keys.create_signing_key(
                session,
                principal.environment_id,
                public_pem,
                now=deps.clock(),
                random_bytes=deps.random_bytes,
            )
            payload = data(signing_keys.signing_key_view(row, private_pem))
        return JSONResponse(payload, status_code=201)

    @router.get("/signing-keys", response_model=None)
    async def list_signing_keys(
        principal: Principal = caller,
        limit: PageLimit = 25,
        page: PageNumber = 1,
    ) -> JSONResponse:
        """Newest first; a page past the end is ``{"data": []}``."""
        principal.require(SYSTEM_READ)
        async with deps.sessions() as session:
            rows = await signing_keys.list_signing_keys(
                session, principal.environment_id, limit, page
            )
            payload = data([signing_keys.signing_key_view(row) for row in rows])
        return JSONResponse(payload)

    @router.get("/signing-keys/{key_id}", response_model=None, responses={200: one})
    async def get_signing_key(key_id: str, principal: Principal = caller) -> JSONResponse:
        principal.require(SYSTEM_READ)
        async with deps.sessions() as session:
            row = await signing_keys.get_signing_key(session, principal.environment_id, key_id)
            payload = data(signing_keys.signing_key_view(row))
        return JSONResponse(payload)

    @router.delete("/signing-keys/{key_id}", status_code=204, response_class=Response)
    async def delete_signing_key(key_id: str, principal: Principal = caller) -> Response:
        """Tokens signed with the key stop playing within a few seconds (the verifiers'
        key cache)."""
        principal.require(SYSTEM_WRITE)
        async with deps.sessions.begin() as session:
            await signing_keys.delete_signing_key(
                session, principal.environment_id, key_id, now=deps.clock()
            )
        return Response(status_code=204)

    return router
