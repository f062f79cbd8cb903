"""Signing keys: RSA-2048 pairs for playback tokens. The private half is handed out once, on
creation, and never stored; the public half verifies tokens.

Scoped functions take the environment and answer ``NotFound`` for another environment's key or
a deleted one; :func:`find_key` is unscoped, for the playback surface, which must tell an unknown
key from another environment's or a deleted one to say why a token was refused.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.db.models import SigningKey
from reelhouse.errors import NotFound
from reelhouse.ids import RandomBytes, is_well_formed, new_id

KEY_BITS: Final = 2048
PUBLIC_EXPONENT: Final = 65537


def generate_key_pair() -> tuple[bytes, str]:
    """A new RSA-2048 pair: ``(private PEM (PKCS#1, as Mux hands out), public PEM)``.
    CPU-bound (tens of milliseconds): call it off the event loop."""
    private = rsa.generate_private_key(public_exponent=PUBLIC_EXPONENT, key_size=KEY_BITS)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem.decode()


def signing_key_view(row: SigningKey, private_key_pem: bytes | None = None) -> dict[str, Any]:
    """The Mux signing-key object; ``private_key`` (base64 of the PEM) only when given."""
    view: dict[str, Any] = {"id": row.id, "created_at": str(int(row.created_at.timestamp()))}
    if private_key_pem is not None:
        view["private_key"] = base64.b64encode(private_key_pem).decode()
    return view


async def create_signing_key(
    session: AsyncSession,
    environment_id: str,
    public_key_pem: str,
    *,
    now: datetime,
    random_bytes: RandomBytes = secrets.token_bytes,
) -> SigningKey:
    """Record the public half of a new pair (see :func:`generate_key_pair`)."""
    row = SigningKey(
        id=new_id(random_bytes),
        environment_id=environment_id,
        public_key_pem=public_key_pem,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def get_signing_key(session: AsyncSession, environment_id: str, key_id: str) -> SigningKey:
    """The live key ``key_id`` of ``environment_id``; anything else is ``NotFound``."""
    if not is_well_formed(key_id):
        raise NotFound()
    row = await session.scalar(
        select(SigningKey).where(
            SigningKey.id == key_id,
            SigningKey.environment_id == environment_id,
            SigningKey.deleted_at.is_(None),
        )
    )
    if row is None:
        raise NotFound()
    return row


async def list_signing_keys(
    session: AsyncSession, environment_id: str, limit: int, page: int
) -> Sequence[SigningKey]:
    """Page ``page`` (from 1) of the live keys, newest first; a page past the end is empty."""
    result = await session.scalars(
        select(SigningKey)
        .where(SigningKey.environment_id == environment_id, SigningKey.deleted_at.is_(None))
        .order_by(SigningKey.created_at.desc(), SigningKey.id.desc())
        .limit(limit)
        .offset((page - 1) * limit)
    )
    return result.all()


async def delete_signing_key(
    session: AsyncSession, environment_id: str, key_id: str, *, now: datetime
) -> None:
    """Mark the key deleted: tokens it signed stop playing (within the verifiers' key cache
    lifetime, a few seconds)."""
    row = await get_signing_key(session, environment_id, key_id)
    row.deleted_at = now
    await session.flush()


async def find_key(session: AsyncSession, key_id: str) -> SigningKey | None:
    """The key ``key_id`` in any environment, deleted or not (for token verification)."""
    return await session.get(SigningKey, key_id)
