"""Who is calling: access tokens from HTTP Basic ``ID:SECRET`` or ``Bearer ID:SECRET`` (also
``Bearer base64(ID:SECRET)``), authenticated through :mod:`reelhouse.media.tokens`."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.errors import Unauthorized
from reelhouse.media.tokens import Principal, authenticate

_MAX_HEADER = 4096


def _b64_pair(value: str) -> tuple[str, str] | None:
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    token_id, sep, secret = decoded.partition(":")
    return (token_id, secret) if sep and token_id and secret else None


def parse_authorization(header: str | None) -> tuple[str, str]:
    """``(token_id, secret)`` from an Authorization header value, else ``Unauthorized``."""
    if not header or len(header) > _MAX_HEADER:
        raise Unauthorized()
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    pair: tuple[str, str] | None = None
    if scheme.lower() == "basic":
        pair = _b64_pair(value)
    elif scheme.lower() == "bearer":
        token_id, sep, secret = value.partition(":")
        pair = (token_id, secret) if sep and token_id and secret else _b64_pair(value)
    if pair is None:
        raise Unauthorized()
    return pair


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
