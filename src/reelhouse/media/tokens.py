"""Access tokens: creation (the secret is shown once), authentication, listing, revocation and
the first-start bootstrap."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.db.models import AccessToken
from reelhouse.errors import ConfigError, InvalidParameters, NotFound, Unauthorized
from reelhouse.ids import RandomBytes, new_id, new_secret
from reelhouse.media.environments import ensure_environment_row
from reelhouse.media.principals import (
    ALL_PERMISSIONS,
    DATA_READ,
    LAST_USED_RESOLUTION,
    SYSTEM_READ,
    SYSTEM_WRITE,
    VIDEO_READ,
    VIDEO_WRITE,
    Principal,
    hash_secret,
    secret_matches,
)

__all__ = [
    "ALL_PERMISSIONS",
    "DATA_READ",
    "SYSTEM_READ",
    "SYSTEM_WRITE",
    "VIDEO_READ",
    "VIDEO_WRITE",
    "Principal",
    "authenticate",
    "bootstrap",
    "create_token",
    "hash_secret",
    "list_tokens",
    "revoke_token",
]

_BOOTSTRAP_LOCK: Final = 0x7268626F6F74  # "rhboot": serialises first starts of several nodes


def _checked_permissions(permissions: Iterable[str]) -> list[str]:
    chosen = sorted(set(permissions))
    unknown = [p for p in chosen if p not in ALL_PERMISSIONS]
    if unknown:
        raise InvalidParameters(
            f"unknown permission {unknown[0]!r}; choose from {', '.join(ALL_PERMISSIONS)}"
        )
    return chosen


async def create_token(
    session: AsyncSession,
    environment_id: str,
    name: str,
    permissions: Iterable[str],
    random_bytes: RandomBytes = secrets.token_bytes,
    *,
    now: datetime | None = None,
    token_id: str | None = None,
    secret: str | None = None,
) -> tuple[AccessToken, str]:
    """A new token in ``environment_id``; returns the row and its secret (never stored, shown
    once). ``token_id``/``secret`` are given only by :func:`bootstrap`."""
    token = AccessToken(
        id=token_id or new_id(random_bytes),
        environment_id=environment_id,
        name=name,
        secret_hash="",
        permissions=_checked_permissions(permissions),
        created_at=now or datetime.now(UTC),
    )
    secret = secret or new_secret(random_bytes)
    token.secret_hash = hash_secret(secret)
    session.add(token)
    await session.flush()
    return token, secret


async def authenticate(
    session: AsyncSession, token_id: str, secret: str, *, now: datetime | None = None
) -> Principal:
    """The Principal for ``token_id:secret``, else ``Unauthorized`` (unknown, wrong secret or
    revoked all look alike). Records ``last_used_at`` at most once a minute."""
    token = await session.get(AccessToken, token_id)
    stored = token.secret_hash if token is not None else None
    revoked = token is not None and token.revoked_at is not None
    if token is None or not secret_matches(secret, stored, revoked=revoked):
        raise Unauthorized()
    now = now or datetime.now(UTC)
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
        await session.flush()
    return Principal(
        environment_id=token.environment_id,
        token_id=token.id,
        permissions=frozenset(token.permissions),
    )


async def list_tokens(session: AsyncSession, environment_id: str) -> Sequence[AccessToken]:
    """Every token of ``environment_id``, revoked ones included, oldest first."""
    result = await session.scalars(
        select(AccessToken)
        .where(AccessToken.environment_id == environment_id)
        .order_by(AccessToken.created_at, AccessToken.id)
    )
    return result.all()


async def revoke_token(
    session: AsyncSession, environment_id: str, token_id: str, *, now: datetime | None = None
) -> AccessToken:
    """Revoke ``token_id`` (idempotent: a revoked token keeps its first revocation time)."""
    token = await session.scalar(
        select(AccessToken)
        .where(AccessToken.environment_id == environment_id, AccessToken.id == token_id)
        .with_for_update()
    )
    if token is None:
        raise NotFound()
    if token.revoked_at is None:
        token.revoked_at = now or datetime.now(UTC)
        await session.flush()
    return token


def parse_bootstrap(value: str) -> tuple[str, str]:
    """``ID:SECRET`` split at the first colon; ``ConfigError`` when either part is empty."""
    token_id, sep, secret = value.partition(":")
    if not sep or not token_id or not secret:
        raise ConfigError("REELHOUSE_BOOTSTRAP_TOKEN must be ID:SECRET")
    return token_id, secret


async def bootstrap(
    session: AsyncSession,
    bootstrap: str | None,
    *,
    now: datetime | None = None,
    random_bytes: RandomBytes = secrets.token_bytes,
) -> tuple[str, str] | None:
    """On a database with no access tokens, create one with every permission in the default
    environment: ``bootstrap`` (``ID:SECRET``) when given, else a generated one. Returns
    ``(id, secret)`` only when it created a token, so the caller prints it once; None otherwise.
    Several nodes starting at once create one token between them."""
    wanted = parse_bootstrap(bootstrap) if bootstrap else None
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _BOOTSTRAP_LOCK})
    existing = await session.scalar(select(func.count()).select_from(AccessToken))
    if existing:
        return None
    now = now or datetime.now(UTC)
    env = await ensure_environment_row(session, now=now)
    token_id, secret = wanted if wanted else (None, None)
    token, secret = await create_token(
        session,
        env.id,
        "bootstrap",
        ALL_PERMISSIONS,
        random_bytes,
        now=now,
        token_id=token_id,
        secret=secret,
    )
    return token.id, secret
