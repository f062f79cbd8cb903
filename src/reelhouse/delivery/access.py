"""Who may play what: the slot where signed-playback tokens are checked.

Every playback request (stream manifests and files, and the image and static MP4 routes) passes
its :class:`Playback` and what the request presents (:class:`Viewer`) through a
:class:`PlaybackGate` before anything is served. The gate answers with an :class:`Access`:
where the request's modifiers come from and how the answer may be cached.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from starlette.requests import Request

from reelhouse.delivery.errors import TokenRequired
from reelhouse.delivery.playbacks import Playback
from reelhouse.delivery.tokens import Claims

VIDEO: str = "v"
THUMBNAIL: str = "t"
GIF: str = "g"
STORYBOARD: str = "s"


@dataclass(frozen=True)
class Viewer:
    """What a request presents: the ``?token=`` value and the headers restrictions look at."""

    token: str | None = None
    referer: str | None = None
    origin: str | None = None
    user_agent: str | None = None

    @classmethod
    def of(cls, request: Request) -> Viewer:
        headers = request.headers
        return cls(
            request.query_params.get("token"),
            headers.get("referer"),
            headers.get("origin"),
            headers.get("user-agent"),
        )


@dataclass(frozen=True)
class Access:
    """A request the gate let through. ``claims`` is the verified token (None for a public id,
    or a file fetched with a grant); ``grant`` the path grant to put in the URIs a signed
    manifest hands out (``{playback_id}/t/{grant}/...``), None for a public id."""

    signed: bool = False
    claims: Claims | None = None
    grant: str | None = None

    def modifiers(self, query: Mapping[str, str]) -> Mapping[str, str]:
        """Where ``max_resolution``, ``time``, ``width``... come from: the URL for a public id,
        the token's claims for a signed one (Mux: only ``token`` may be on a signed URL)."""
        if not self.signed:
            return query
        return self.claims.params if self.claims is not None else {}

    def cache_control(self, public: str) -> str:
        """``public`` (e.g. ``public, max-age=10``) for a public id; the same made ``private``
        for a signed one, so no shared cache keeps what a token unlocked."""
        if not self.signed:
            return public
        return public.replace("public", "private", 1) if "public" in public else "private"


PUBLIC = Access()


class PlaybackGate(Protocol):
    """Decides whether a request may play ``playback``. Both methods return the
    :class:`Access` granted or raise :class:`~reelhouse.delivery.errors.TokenRequired` (403)
    with a message saying what is wrong. They may do I/O (signing keys and playback
    restrictions are looked up through a short-lived in-process cache), hence ``async``.
    """

    async def check(self, playback: Playback, viewer: Viewer, audience: str) -> Access:
        """A request carrying ``viewer.token`` (a JWT) for ``audience``: ``"v"`` video
        (manifests, static MP4s), ``"t"`` thumbnail, ``"g"`` GIF, ``"s"`` storyboard."""
        ...

    async def check_file(self, playback: Playback, grant: str | None, viewer: Viewer) -> Access:
        """A media playlist or segment of ``playback``: fine for a public id; for a signed
        one, ``grant`` (the path grant from the manifest) must be valid, or else
        ``viewer.token`` a valid ``"v"`` JWT."""
        ...


class PublicOnly:
    """Plays public playback ids; a signed one answers 403."""

    async def check(self, playback: Playback, viewer: Viewer, audience: str) -> Access:
        if playback.policy != "public":
            raise TokenRequired()
        return PUBLIC

    async def check_file(self, playback: Playback, grant: str | None, viewer: Viewer) -> Access:
        return await self.check(playback, viewer, VIDEO)
