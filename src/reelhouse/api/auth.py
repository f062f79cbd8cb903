"""Who is calling: access tokens from HTTP Basic ``ID:SECRET`` or ``Bearer ID:SECRET`` (also
``Bearer base64(ID:SECRET)``), authenticated through :mod:`reelhouse.media.tokens`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.media.principals import Principal, parse_authorization
from reelhouse.media.tokens import authenticate

__all__ = ["parse_authorization", "principal_dependency", "principal_from_headers"]


async def principal_from_headers(
    session: AsyncSession, headers: Mapping[str, str], *, now: datetime | None = None
) -> Principal:
    """Authenticate the request's Authorization header in ``session``'s transaction."""
    token_id, secret = parse_authorization(headers.get("authorization"))
    return await authenticate(session, token_id, secret, now=now)


def principal_dependency(
    sessions: async_sessionmaker[AsyncSession], clock: Callable[[], datetime]
) -> Callable[[Request], Awaitable[Principal]]:
    """A FastAPI dependency returning the caller's Principal (its own short transaction, so
    ``last_used_at`` is recorded even when the request then fails)."""

    async def current_principal(request: Request) -> Principal:
        async with sessions.begin() as session:
            return await principal_from_headers(session, request.headers, now=clock())

    return current_principal
