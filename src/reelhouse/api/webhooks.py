"""``/system/v1/webhooks``: webhook endpoints, their delivery logs, secret rotation, and
``/system/v1/webhook-events/{id}/replay``.

URLs are vetted by the outbound guard when they are set: http(s) only, and no private, loopback
or other internal address unless the operator allows private targets. Each endpoint's signing
secret is shown only on creation and on rotation.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from reelhouse.api.auth import principal_dependency
from reelhouse.api.deps import ApiDeps
from reelhouse.api.routers import PageLimit, PageNumber, resource_router
from reelhouse.errors import InvalidParameters
from reelhouse.media.tokens import SYSTEM_READ, SYSTEM_WRITE, Principal
from reelhouse.outbound import Policy
from reelhouse.schemas.envelopes import data
from reelhouse.webhooks import endpoints
from reelhouse.webhooks.dispatch import replay_event


class CreateWebhookRequest(BaseModel):
    """``url`` (or Mux's ``address``) receives the events; ``enabled`` defaults to true."""

    model_config = ConfigDict(extra="ignore")

    url: str | None = Field(default=None, max_length=endpoints.MAX_URL_LENGTH)
    address: str | None = Field(default=None, max_length=endpoints.MAX_URL_LENGTH)
    enabled: bool = True


class UpdateWebhookRequest(BaseModel):
    """Either field may be left out."""

    model_config = ConfigDict(extra="ignore")

    url: str | None = Field(default=None, max_length=endpoints.MAX_URL_LENGTH)
    address: str | None = Field(default=None, max_length=endpoints.MAX_URL_LENGTH)
    enabled: bool | None = None


class WebhookEndpointOut(BaseModel):
    id: str
    url: str
    address: str
    enabled: bool
    operator_trusted: bool
    created_at: str
    updated_at: str
    signing_secret: str | None = None


def webhooks_router(deps: ApiDeps) -> APIRouter:
    """The webhook endpoints, bound to ``deps``."""
    router = resource_router("/system/v1", "Webhooks")
    caller = Depends(principal_dependency(deps.sessions, deps.clock))
    policy = Policy(allow_private=deps.webhook_allow_private)
    one = {"model": WebhookEndpointOut}

    async def checked(url: str | None) -> str | None:
        return None if url is None else await endpoints.validate_url(url, policy)

    @router.post("/webhooks", status_code=201, response_model=None, responses={201: one})
    async def create_webhook(
        body: Annotated[CreateWebhookRequest, Body()], principal: Principal = caller
    ) -> JSONResponse:
        """Add an endpoint; 201 ``{"data": {..., "signing_secret"}}`` (the only time it shows)."""
        principal.require(SYSTEM_WRITE)
        url = await checked(body.url or body.address)
        if url is None:
            raise InvalidParameters("url is required")
        async with deps.sessions.begin() as session:
            row = await endpoints.create_endpoint(
                session,
                principal.environment_id,
                url,
                now=deps.clock(),
                enabled=body.enabled,
                random_bytes=deps.random_bytes,
            )
            payload = data(endpoints.endpoint_view(row, with_secret=True))
        return JSONResponse(payload, status_code=201)

    @router.get("/webhooks", response_model=None)
    async def list_webhooks(
        principal: Principal = caller,
        limit: PageLimit = 25,
        page: PageNumber = 1,
    ) -> JSONResponse:
        """Oldest first; secrets are never listed."""
        principal.require(SYSTEM_READ)
        async with deps.sessions() as session:
            rows = await endpoints.list_endpoints(session, principal.environment_id, limit, page)
            payload = data([endpoints.endpoint_view(row) for row in rows])
        return JSONResponse(payload)

    @router.get("/webhooks/{webhook_id}", response_model=None, responses={200: one})
    async def get_webhook(webhook_id: str, principal: Principal = caller) -> JSONResponse:
        principal.require(SYSTEM_READ)
        async with deps.sessions() as session:
            row = await endpoints.get_endpoint(session, principal.environment_id, webhook_id)
            payload = data(endpoints.endpoint_view(row))
        return JSONResponse(payload)

    @router.patch("/webhooks/{webhook_id}", response_model=None, responses={200: one})
    async def update_webhook(
        webhook_id: str,
        body: Annotated[UpdateWebhookRequest, Body()],
        principal: Principal = caller,
    ) -> JSONResponse:
        """Change ``url`` and/or ``enabled``."""
        principal.require(SYSTEM_WRITE)
        url = await checked(body.url or body.address)
        async with deps.sessions.begin() as session:
            row = await endpoints.update_endpoint(
                session,
                principal.environment_id,
                webhook_id,
                now=deps.clock(),
                url=url,
                enabled=body.enabled,
            )
            payload = data(endpoints.endpoint_view(row))
        return JSONResponse(payload)

    @router.delete("/webhooks/{webhook_id}", status_code=204, response_class=Response)
    async def delete_webhook(webhook_id: str, principal: Principal = caller) -> Response:
        """Remove the endpoint and its delivery log."""
        principal.require(SYSTEM_WRITE)
        async with deps.sessions.begin() as session:
            await endpoints.delete_endpoint(session, principal.environment_id, webhook_id)
        return Response(status_code=204)

    @router.post("/webhooks/{webhook_id}/rotate-secret", response_model=None, responses={200: one})
    async def rotate_webhook_secret(webhook_id: str, principal: Principal = caller) -> JSONResponse:
        """A new signing secret, shown in this answer only."""
        principal.require(SYSTEM_WRITE)
        async with deps.sessions.begin() as session:
            row = await endpoints.rotate_secret(
                session,
                principal.environment_id,
                webhook_id,
                now=deps.clock(),
                random_bytes=deps.random_bytes,
            )
            payload = data(endpoints.endpoint_view(row, with_secret=True))
        return JSONResponse(payload)

    @router.get("/webhooks/{webhook_id}/deliveries", response_model=None)
    async def list_webhook_deliveries(
        webhook_id: str,
        principal: Principal = caller,
        limit: PageLimit = 25,
        page: PageNumber = 1,
    ) -> JSONResponse:
        """The delivery log, newest first: event, status and every attempt."""
        principal.require(SYSTEM_READ)
        async with deps.sessions() as session:
            records = await endpoints.list_deliveries(
                session, principal.environment_id, webhook_id, limit, page
            )
            payload = data([endpoints.delivery_view(record) for record in records])
        return JSONResponse(payload)

    @router.post("/webhook-events/{event_id}/replay", response_model=None)
    async def replay_webhook_event(event_id: str, principal: Principal = caller) -> JSONResponse:
        """Send the event again to every enabled endpoint (new deliveries, same event id)."""
        principal.require(SYSTEM_WRITE)
        async with deps.sessions.begin() as session:
            created = await replay_event(
                session,
                principal.environment_id,
                endpoints.parse_event_id(event_id),
                now=deps.clock(),
            )
            payload = data(
                {
                    "event_id": event_id,
                    "deliveries": [
                        {"id": str(d.id), "webhook_id": d.endpoint_id, "status": d.status}
                        for d in created
                    ],
                }
            )
        return JSONResponse(payload)

    return router
