"""Signing keys: RSA-2048 pairs for playback tokens. The private half is handed out once, on
creation, and never stored; the public half verifies tokens. Minting a token takes the private
half from whoever holds it (an app backend, ``reelhouse sign``, the dashboard's generator, which
is sent it for one request) and is pure: :func:`sign_playback_token`.

Scoped functions take the environment and answer ``NotFound`` for another environment's key or
a deleted one; :func:`find_key` is unscoped, for the playback surface, which must tell an unknown
key from another environment's or a deleted one to say why a token was refused.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.db.models import SigningKey
from reelhouse.errors import InvalidParameters, NotFound
from reelhouse.ids import RandomBytes, is_well_formed, new_id

KEY_BITS: Final = 2048
PUBLIC_EXPONENT: Final = 65537
TOKEN_ALGORITHM: Final = "RS256"
MAX_PRIVATE_KEY_CHARS: Final = 16_384
NOT_A_KEY: Final = "the private key is neither a PEM nor base64 of one"


def generate_key_pair() -> tuple[bytes, str]:
    """A new RSA-2048 pair: ``(private PEM (PKCS#1, as Mux hands out), public PEM)``.
    CPU-bound (tens of milliseconds): call it off the event loop."""
    # cryptography and PyJWT (~10 MiB) are loaded by the first key operation, not by every
    # process that imports this module (upload and public-playback nodes never need them).
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

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


# --- minting tokens with a private half the caller holds ---------------------------------------


def private_key_pem(value: str) -> bytes:
    """The PEM of a private key given as a PEM or as base64 of one (what key creation hands
    out). ``InvalidParameters`` for anything else. Pure."""
    text = value.strip()
    if not text or len(text) > MAX_PRIVATE_KEY_CHARS:
        raise InvalidParameters(NOT_A_KEY)
    if "BEGIN" in text:
        return text.encode()
    try:
        pem = base64.b64decode("".join(text.split()), validate=True)
    except binascii.Error:
        raise InvalidParameters(NOT_A_KEY) from None
    if b"BEGIN" not in pem:
        raise InvalidParameters(NOT_A_KEY)
    return pem


def holds_private_half(row: SigningKey, private_pem: bytes) -> bool:
    """Whether ``private_pem`` is the private half of the key ``row`` (its public numbers are
    the stored public key's). ``InvalidParameters`` when it is not an RSA private key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        private = serialization.load_pem_private_key(private_pem, password=None)
    except (ValueError, TypeError):
        raise InvalidParameters("the private key could not be read (a PEM RSA key)") from None
    if not isinstance(private, rsa.RSAPrivateKey):
        raise InvalidParameters("the private key is not an RSA key")
    public = serialization.load_pem_public_key(row.public_key_pem.encode())
    if not isinstance(public, rsa.RSAPublicKey):
        return False
    return private.public_key().public_numbers() == public.public_numbers()


def sign_playback_token(
    private_key_pem: bytes,
    *,
    key_id: str,
    playback_id: str,
    audience: str,
    expires_at: int,
    params: Mapping[str, object] | None = None,
    kid_in_header: bool = False,
) -> str:
    """A playback token (RS256 JWT) like mux-node's ``jwt.signPlaybackId``: ``sub`` the playback
    id, ``aud`` (``v`` ``t`` ``g`` ``s``), ``exp`` in Unix seconds, ``kid`` in the payload (or in
    the header, as older SDKs do) and ``params`` as extra claims. Pure."""
    import jwt

    payload: dict[str, object] = {**(params or {}), "sub": playback_id, "aud": audience}
    payload["exp"] = expires_at
    headers: dict[str, Any] = {"typ": "JWT"}
    if kid_in_header:
        headers["kid"] = key_id
    else:
        payload["kid"] = key_id
    return jwt.encode(payload, private_key_pem, algorithm=TOKEN_ALGORITHM, headers=headers)
