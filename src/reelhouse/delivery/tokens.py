"""Playback token math, pure: RS256 JWT checks (Mux's signed playback) and the HMAC grants that
let a signed player fetch media playlists and segments without an RSA verify per request.

JWT (see ``docs/signed-playback.md``): ``alg`` must be ``RS256`` (``none`` and every ``HS*``
are refused before a key is even looked up, so the public-key-as-HMAC-secret confusion cannot
happen); ``kid`` comes from the header, else from the payload (mux-node >= 8 puts it there);
``sub`` (the playback id), ``aud`` (``v`` ``t`` ``g`` ``s``) and ``exp`` are required. PyJWT
checks the signature with ``algorithms=["RS256"]`` and a typed RSA key; times are checked here
against the caller's clock.

Grants: ``{expires}.{mac}`` or ``{expires}.{restriction_id}.{mac}``, an HMAC-SHA256 under a
server secret over the playback id, expiry and restriction. The multivariant playlist puts one
in its URIs as a path segment (``{playback_id}/t/{grant}/v{n}/...``), so every URI resolved
relative to a media playlist (segments, ``EXT-X-MAP`` init segments) or to a DASH ``BaseURL``
carries it without rewriting the stored files.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from reelhouse.delivery.errors import TokenRequired

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

AUDIENCES: Final = {"v": "video", "t": "thumbnail", "g": "gif", "s": "storyboard"}
ALGORITHM: Final = "RS256"
MAX_TOKEN_LENGTH: Final = 4096
LEEWAY_SECONDS: Final = 10
GRANT_SEGMENT: Final = "t"
REGISTERED: Final = frozenset(
    {"sub", "aud", "exp", "nbf", "iat", "iss", "jti", "kid", "playback_restriction_id"}
)
_KID = re.compile(r"[A-Za-z0-9]{1,64}")
_RESTRICTION = re.compile(r"[A-Za-z0-9]{1,64}")
_GRANT = re.compile(r"([0-9]{1,12})\.(?:([A-Za-z0-9]{1,64})\.)?([A-Za-z0-9_-]{43})")


def refused(message: str) -> TokenRequired:
    return TokenRequired(f"Invalid playback token: {message}")


@dataclass(frozen=True)
class Claims:
    """A verified token. ``params`` holds its other top-level claims as strings: the URL
    modifiers of a signed id (``max_resolution``, ``time``, ``width`` ...)."""

    playback_id: str
    audience: str
    expires_at: int
    key_id: str
    playback_restriction_id: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)


def key_id_of(token: str) -> str:
    """The ``kid`` to verify ``token`` with, after the checks that need no key: size, shape,
    ``alg`` exactly ``RS256``, no ``crit``, a well-formed ``kid`` (header first, then payload;
    both present must agree). Raises :class:`TokenRequired` with the reason."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise refused(f"longer than {MAX_TOKEN_LENGTH} characters")
    import jwt  # PyJWT and cryptography (~10 MiB) load with the first signed request

    try:
        header = jwt.get_unverified_header(token)
        payload = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        if _has_crit(token):  # PyJWT >= 2.10 refuses unknown crit itself, before we look
            raise refused("the crit header is not supported") from None
        raise refused("not a well-formed JWT") from None
    alg = header.get("alg")
    if alg != ALGORITHM:
        raise refused(f"alg must be {ALGORITHM}, not {alg!r}")
    if "crit" in header:
        raise refused("the crit header is not supported")
    kids = {k for k in (header.get("kid"), payload.get("kid")) if k is not None}
    if not kids:
        raise refused("no kid (signing key id) in the header or the payload")
    if len(kids) > 1:
        raise refused("the kid in the header and the kid in the payload differ")
    kid = kids.pop()
    if not isinstance(kid, str) or not _KID.fullmatch(kid):
        raise refused("kid is not a signing key id")
    return kid


def _has_crit(token: str) -> bool:
    """Whether the token's header (decoded leniently, signature unchecked) names ``crit``."""
    head = token.split(".", 1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, TypeError):
        return False
    return isinstance(header, dict) and "crit" in header


def verify(
    token: str,
    key: RSAPublicKey,
    *,
    key_id: str,
    playback_id: str,
    audience: str,
    now: float,
    leeway: int = LEEWAY_SECONDS,
) -> Claims:
    """The claims of ``token`` when its RS256 signature verifies with ``key`` and it is meant
    for ``playback_id`` and ``audience`` at ``now`` (Unix seconds); else :class:`TokenRequired`
    naming what is wrong. Call :func:`key_id_of` first."""
    import jwt

    try:
        payload: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            options={
                "require": ["exp", "sub", "aud"],
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
            },
        )
    except jwt.MissingRequiredClaimError as exc:
        raise refused(f"the {exc.claim} claim is required") from None
    except jwt.InvalidSignatureError:
        raise refused("the signature does not verify with its signing key") from None
    except jwt.PyJWTError:
        raise refused("not a well-formed JWT") from None
    exp = _number(payload["exp"], "exp")
    if now >= exp + leeway:
        raise refused("the token has expired")
    if "nbf" in payload and now + leeway < _number(payload["nbf"], "nbf"):
        raise refused("the token is not valid yet (nbf)")
    aud = payload["aud"]
    if not (aud == audience or (isinstance(aud, list) and audience in aud)):
        want = AUDIENCES.get(audience, audience)
        raise refused(f"aud is {aud!r}, but this URL needs {audience!r} ({want})")
    if payload["sub"] != playback_id:
        raise refused("sub is not this playback ID")
    restriction = payload.get("playback_restriction_id")
    if restriction is not None and (
        not isinstance(restriction, str) or not _RESTRICTION.fullmatch(restriction)
    ):
        raise refused("playback_restriction_id is not a playback restriction id")
    return Claims(playback_id, audience, int(exp), key_id, restriction, _params(payload))


def _number(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise refused(f"{name} must be a number of Unix seconds")
    return float(value)


def _params(payload: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in payload.items():
        if name in REGISTERED:
            continue
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, (str, int, float)):
            out[name] = str(value)
    return out


@dataclass(frozen=True)
class Grant:
    """What a grant lets its holder fetch: ``playback_id``'s files until ``expires_at``, under
    the playback restriction ``restriction_id`` when set."""

    playback_id: str
    expires_at: int
    restriction_id: str | None = None


class GrantSigner:
    """Mints and opens grants under ``secret`` (at least 32 bytes; every web node that serves
    the same playback ids must share it)."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("the playback grant secret must be at least 32 bytes")
        self._secret = secret

    def _mac(self, grant: Grant) -> str:
        message = "\x00".join(
            (
                "reelhouse-grant-v1",
                grant.playback_id,
                str(grant.expires_at),
                grant.restriction_id or "",
            )
        )
        digest = hmac.new(self._secret, message.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def mint(self, grant: Grant) -> str:
        middle = f"{grant.restriction_id}." if grant.restriction_id else ""
        return f"{grant.expires_at}.{middle}{self._mac(grant)}"

    def open(self, value: str, playback_id: str, *, now: float) -> Grant:
        """The grant ``value`` stands for, when it is genuine, for ``playback_id`` and not
        expired at ``now``; else :class:`TokenRequired`."""
        match = _GRANT.fullmatch(value)
        if match is None:
            raise TokenRequired("This playback grant is malformed")
        grant = Grant(playback_id, int(match.group(1)), match.group(2))
        if not hmac.compare_digest(self._mac(grant), match.group(3)):
            raise TokenRequired("This playback grant is not valid for this playback ID")
        if now >= grant.expires_at:
            raise TokenRequired("This playback grant has expired; reload the playlist")
        return grant


def split_grant(rest: str) -> tuple[str | None, str]:
    """``t/{grant}/{rest}`` -> ``(grant, rest)``; anything else -> ``(None, rest)``."""
    head, slash, tail = rest.partition("/")
    if head == GRANT_SEGMENT and slash:
        grant, slash, after = tail.partition("/")
        return grant, after
    return None, rest
