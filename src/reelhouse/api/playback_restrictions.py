"""``/video/v1/playback-restrictions``: referrer and user-agent rules a signed playback token
names in its ``playback_restriction_id`` claim (see ``docs/signed-playback.md``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from reelhouse.api.auth import principal_dependency
from reelhouse.api.deps import ApiDeps
from reelhouse.api.routers import PageLimit, PageNumber, resource_router
from reelhouse.media import playback_restrictions as restrictions
from reelhouse.media.tokens import VIDEO_READ, VIDEO_WRITE, Principal
from reelhouse.schemas.envelopes import DataEnvelope, data


class ReferrerRules(BaseModel):
    """``[]`` refuses every referrer; ``["*"]`` allows any; else up to 10 domains or
    ``*.domain`` wildcards."""

    model_config = ConfigDict(extra="ignore")

    allowed_domains: list[str] = Field(default_factory=list, max_length=restrictions.MAX_DOMAINS)
    allow_no_referrer: bool = False

    def rules(self) -> dict[str, Any]:
        return restrictions.referrer_rules(self.allowed_domains, self.allow_no_referrer)


class UserAgentRules(BaseModel):
    model_config = ConfigDict(extra="ignore")

    allow_no_user_agent: bool = True
    allow_high_risk_user_agent: bool = True

    def rules(self) -> dict[str, Any]:
        return restrictions.user_agent_rules(
            self.allow_no_user_agent, self.allow_high_risk_user_agent
        )


class CreateRestrictionRequest(BaseModel):
    """A part left out does not restrict (any referrer / any user agent)."""

    model_config = ConfigDict(extra="ignore")

    referrer: ReferrerRules | None = None
    user_agent: UserAgentRules | None = None


class RestrictionView(BaseModel):
    id: str
    created_at: str
    updated_at: str
    referrer: ReferrerRules
    user_agent: UserAgentRules


def playback_restrictions_router(deps: ApiDeps) -> APIRouter:
    """The playback-restriction endpoints, bound to ``deps``."""
    router = resource_router("/video/v1", "Playback Restrictions")
    caller = Depends(principal_dependency(deps.sessions, deps.clock))
    one = {"model": DataEnvelope[RestrictionView]}

    @router.post(
        "/playback-restrictions", status_code=201, response_model=None, responses={201: one}
    )
    async def create_playback_restriction(
        principal: Principal = caller,
        body: Annotated[CreateRestrictionRequest | None, Body()] = None,
    ) -> JSONResponse:
        principal.require(VIDEO_WRITE)
        request = body or CreateRestrictionRequest()
        async with deps.sessions.begin() as session:
            row = await restrictions.create_restriction(
                session,
                principal.environment_id,
                referrer=request.referrer.rules() if request.referrer else None,
                user_agent=request.user_agent.rules() if request.user_agent else None,
                now=deps.clock(),
                random_bytes=deps.random_bytes,
            )
            payload = data(restrictions.restriction_view(row))
        return JSONResponse(payload, status_code=201)

    @router.get("/playback-restrictions", response_model=None)
    async def list_playback_restrictions(
        principal: Principal = caller,
        limit: PageLimit = 25,
        page: PageNumber = 1,
    ) -> JSONResponse:
        """Newest first; a page past the end is ``{"data": []}``."""
        principal.require(VIDEO_READ)
        async with deps.sessions() as session:
            rows = await restrictions.list_restrictions(
                session, principal.environment_id, limit, page
            )
            payload = data([restrictions.restriction_view(row) for row in rows])
        return JSONResponse(payload)

    @router.get(
        "/playback-restrictions/{restriction_id}", response_model=None, responses={200: one}
    )
    async def get_playback_restriction(
        restriction_id: str, principal: Principal = caller
    ) -> JSONResponse:
        principal.require(VIDEO_READ)
        async with deps.sessions() as session:
            row = await restrictions.get_restriction(
                session, principal.environment_id, restriction_id
            )
            payload = data(restrictions.restriction_view(row))
        return JSONResponse(payload)

    @router.delete(
        "/playback-restrictions/{restriction_id}", status_code=204, response_class=Response
    )
    async def delete_playback_restriction(
        restriction_id: str, principal: Principal = caller
    ) -> Response:
        principal.require(VIDEO_WRITE)
        async with deps.sessions.begin() as session:
            await restrictions.delete_restriction(session, principal.environment_id, restriction_id)
        return Response(status_code=204)

    async def update(
        principal: Principal,
        restriction_id: str,
        referrer: dict[str, Any] | None = None,
        user_agent: dict[str, Any] | None = None,
    ) -> JSONResponse:
        principal.require(VIDEO_WRITE)
        async with deps.sessions.begin() as session:
            row = await restrictions.update_restriction(
                session,
                principal.environment_id,
                restriction_id,
                now=deps.clock(),
                referrer=referrer,
                user_agent=user_agent,
            )
            payload = data(restrictions.restriction_view(row))
        return JSONResponse(payload)

    @router.put(
        "/playback-restrictions/{restriction_id}/referrer",
        response_model=None,
        responses={200: one},
    )
    async def update_referrer_domain_restriction(
        restriction_id: str,
        body: Annotated[ReferrerRules, Body()],
        principal: Principal = caller,
    ) -> JSONResponse:
        """Replace the referrer rules (the domain list is replaced whole)."""
        return await update(principal, restriction_id, referrer=body.rules())

    @router.put(
        "/playback-restrictions/{restriction_id}/user_agent",
        response_model=None,
        responses={200: one},
    )
    async def update_user_agent_restriction(
        restriction_id: str,
        body: Annotated[UserAgentRules, Body()],
        principal: Principal = caller,
    ) -> JSONResponse:
        """Replace the user-agent rules."""
        return await update(principal, restriction_id, user_agent=body.rules())

    return router
