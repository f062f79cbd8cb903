"""Who is calling, without a database: the Principal, the permission names, how a token secret
is hashed and compared, and the Authorization header parser.

Kept apart from :mod:`reelhouse.media.tokens` (the SQLAlchemy use cases) so the lean upload node
(:mod:`reelhouse.media.upload_edge`) authenticates with the same rules and nothing heavier than
the standard library.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from reelhouse.errors import Forbidden, Unauthorized

VIDEO_READ: Final = "video:read"
VIDEO_WRITE: Final = "video:write"
SYSTEM_READ: Final = "system:read"
SYSTEM_WRITE: Final = "system:write"
DATA_READ: Final = "data:read"
ALL_PERMISSIONS: Final = (VIDEO_READ, VIDEO_WRITE, SYSTEM_READ, SYSTEM_WRITE, DATA_READ)

LAST_USED_RESOLUTION: Final = timedelta(minutes=1)
# Hashed for unknown token ids so a miss costs the same as a wrong secret.
DUMMY_HASH: Final = hashlib.sha256(b"reelhouse-unknown-token").hexdigest()
_MAX_HEADER = 4096


@dataclass(frozen=True)
class Principal:
    """Who is calling: an authenticated token, its environment and what it may do."""

    environment_id: str
    token_id: str
    permissions: frozenset[str]

    def require(self, permission: str) -> None:
        """Return when the token holds ``permission``, else raise ``Forbidden``."""
        if permission not in self.permissions:
            raise Forbidden(f"this access token lacks the {permission} permission")


def hash_secret(secret: str) -> str:
    """SHA-256 hex of a token secret (secrets are 256-bit random, so no slow hash is needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str | None, *, revoked: bool) -> bool:
    """Whether ``secret`` opens a token stored as ``stored_hash`` (None: no such token). The
    hash is compared in constant time, and a miss costs the same as a wrong secret."""
    matches = hmac.compare_digest(hash_secret(secret), stored_hash or DUMMY_HASH)
    return stored_hash is not None and matches and not revoked


def _b64_pair(value: str) -> tuple[str, str] | None:
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    token_id, sep, secret = decoded.partition(":")
    return (token_id, secret) if sep and token_id and secret else None


def parse_authorization(header: str | None) -> tuple[str, str]:
    """``(token_id, secret)`` from an Authorization header value (HTTP Basic ``ID:SECRET``,
    ``Bearer ID:SECRET`` or ``Bearer base64(ID:SECRET)``), else ``Unauthorized``."""
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
