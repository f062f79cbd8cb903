"""The signed-playback gate: verifies a playback id's JWT once per manifest (or image, or MP4)
and hands out HMAC grants for the media playlists and segments behind it.

Signing keys and playback restrictions are looked up through :class:`Expiring`, a small
per-process cache (``lookup_ttl`` seconds, 5 by default; misses are cached too, so random
``kid`` values cannot hammer the database). The price: a deleted key or restriction, or a
changed restriction, takes effect up to ``lookup_ttl`` seconds late on each web node; a new key
plays at once unless a token naming it was refused in the last ``lookup_ttl`` seconds.

A grant lives ``min(token exp, now + grant_ttl)``: it never outlives the token it came from.
Grants are not revoked when a key is deleted; a player already holding one keeps fetching
segments until it expires (6 h at most by default).
"""

from __future__ import annotations

import os
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.delivery.access import PUBLIC, VIDEO, Access, Viewer
from reelhouse.delivery.errors import TokenRequired
from reelhouse.delivery.playbacks import Playback
from reelhouse.delivery.tokens import Claims, Grant, GrantSigner, key_id_of, refused, verify
from reelhouse.media import playback_restrictions, signing_keys
from reelhouse.media.playback_restrictions import Rules, refusal

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class VerificationKey:
    """The public half of a signing key, parsed once."""

    environment_id: str
    public_key: RSAPublicKey
    deleted: bool


KeySource = Callable[[str], Awaitable[VerificationKey | None]]
RuleSource = Callable[[str, str], Awaitable[Rules | None]]


class Expiring(Generic[K, V]):
    """Results of ``load`` kept ``ttl`` seconds (None results too), at most ``max_entries``."""

    def __init__(
        self,
        load: Callable[[K], Awaitable[V | None]],
        clock: Clock,
        *,
        ttl: float,
        max_entries: int = 10_000,
    ) -> None:
        self._load = load
        self._clock = clock
        self._ttl = ttl
        self._max_entries = max_entries
        self._entries: OrderedDict[K, tuple[float, V | None]] = OrderedDict()

    async def get(self, key: K) -> V | None:
        now = self._clock().timestamp()
        cached = self._entries.get(key)
        if cached is not None and 0 <= now - cached[0] < self._ttl:
            return cached[1]
        value = await self._load(key)
        if self._ttl > 0:
            self._entries[key] = (now, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return value


VERIFIED_TOKENS = 10_000


class SignedPlayback:
    """A :class:`~reelhouse.delivery.access.PlaybackGate` for public and signed ids.

    ``keys(kid)`` and ``rules(environment_id, restriction_id)`` load from the database (see
    :meth:`from_sessions`); ``signer`` mints and opens grants; ``clock`` is the time source.
    """

    def __init__(
        self,
        keys: KeySource,
        rules: RuleSource,
        signer: GrantSigner,
        clock: Clock,
        *,
        grant_ttl: int = 6 * 3600,
        lookup_ttl: float = 5.0,
    ) -> None:
        self._keys: Expiring[str, VerificationKey] = Expiring(keys, clock, ttl=lookup_ttl)
        self._rules: Expiring[tuple[str, str], Rules] = Expiring(
            lambda k: rules(*k), clock, ttl=lookup_ttl
        )
        self._signer = signer
        self._clock = clock
        self._grant_ttl = grant_ttl
        self._verified: dict[tuple[str, str, str], Claims] = {}

    @classmethod
    def from_sessions(
        cls, sessions: async_sessionmaker[AsyncSession], secret: bytes, clock: Clock
    ) -> SignedPlayback:
        """The gate over the database behind ``sessions``."""

        async def keys(key_id: str) -> VerificationKey | None:
            async with sessions() as session:
                row = await signing_keys.find_key(session, key_id)
            if row is None:
                return None
            from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
            from cryptography.hazmat.primitives.serialization import load_pem_public_key

            public = load_pem_public_key(row.public_key_pem.encode())
            if not isinstance(public, RSAPublicKey):
                return None
            return VerificationKey(row.environment_id, public, row.deleted_at is not None)

        async def rules(environment_id: str, restriction_id: str) -> Rules | None:
            async with sessions() as session:
                return await playback_restrictions.find_rules(
                    session, environment_id, restriction_id
                )

        return cls(keys, rules, GrantSigner(secret), clock)

    async def check(self, playback: Playback, viewer: Viewer, audience: str) -> Access:
        if playback.policy == "public":
            return PUBLIC
        if not viewer.token:
            raise TokenRequired("This playback ID is signed: add ?token=<JWT> to the URL")
        now = self._clock().timestamp()
        claims = await self._claims(viewer.token, playback, audience, now)
        restriction = claims.playback_restriction_id
        await self._restrict(playback, restriction, viewer)
        grant = None
        if audience == VIDEO:
            expires = min(claims.expires_at, int(now) + self._grant_ttl)
            grant = self._signer.mint(Grant(playback.playback_id, expires, restriction))
        return Access(signed=True, claims=claims, grant=grant)

    async def _claims(self, token: str, playback: Playback, audience: str, now: float) -> Claims:
        """The token's verified claims. A token verified once for this playback id and audience
        is remembered until it expires (one RSA check per token, not per request); its key is
        still looked up every time, so a deleted key stops it within the key cache's TTL."""
        memo = (token, playback.playback_id, audience)
        known = self._verified.get(memo)
        kid = known.key_id if known is not None else key_id_of(token)
        key = await self._keys.get(kid)
        if key is None:
            raise refused(f"unknown signing key {kid}")
        if key.environment_id != playback.environment_id:
            raise refused("the signing key belongs to another environment")
        if key.deleted:
            raise refused(f"the signing key {kid} has been deleted")
        if known is not None and now < known.expires_at:
            return known
        claims = verify(
            token,
            key.public_key,
            key_id=kid,
            playback_id=playback.playback_id,
            audience=audience,
            now=now,
        )
        if len(self._verified) >= VERIFIED_TOKENS:
            self._verified.clear()
        self._verified[memo] = claims
        return claims

    async def check_file(self, playback: Playback, grant: str | None, viewer: Viewer) -> Access:
        if playback.policy == "public":
            return PUBLIC
        if grant is None:
            if viewer.token:
                return await self.check(playback, viewer, VIDEO)
            raise TokenRequired("This file of a signed playback ID needs the grant in its URL")
        opened = self._signer.open(grant, playback.playback_id, now=self._clock().timestamp())
        await self._restrict(playback, opened.restriction_id, viewer)
        return Access(signed=True, grant=grant)

    async def _restrict(
        self, playback: Playback, restriction_id: str | None, viewer: Viewer
    ) -> None:
        if restriction_id is None:
            return
        rules = await self._rules.get((playback.environment_id, restriction_id))
        if rules is None:
            raise TokenRequired(f"The playback restriction {restriction_id} does not exist")
        reason = refusal(
            rules, referer=viewer.referer, origin=viewer.origin, user_agent=viewer.user_agent
        )
        if reason is not None:
            raise TokenRequired(reason)


def stored_secret(path: Path) -> bytes:
    """The grant secret kept in ``path`` (32 random bytes, hex), made on first use (mode 0600).
    For one machine; nodes behind one load balancer must share ``REELHOUSE_PLAYBACK_SECRET``."""
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its secret
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as file:
        file.write(value + "\n")
    return bytes.fromhex(value)
