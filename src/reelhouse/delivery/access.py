"""Who may play what: the slot where signed-playback tokens are checked.

Every stream request passes its :class:`Playback` and the request's ``token`` query value
through a :class:`PlaybackGate` before anything is served, manifests and segments alike.
"""

from __future__ import annotations

from typing import Protocol

from reelhouse.delivery.errors import TokenRequired
from reelhouse.delivery.playbacks import Playback


class PlaybackGate(Protocol):
    """Decides whether a request may play ``playback``.

    Returns None to allow it; raises :class:`~reelhouse.delivery.errors.TokenRequired` (403)
    otherwise. ``token`` is the ``?token=`` query value (None when absent); ``audience`` is the
    JWT ``aud`` the request needs (``"v"`` for video). Called on every request, so it must be
    cheap (verify a JWT, no I/O).
    """

    def check(self, playback: Playback, token: str | None, audience: str) -> None: ...


class PublicOnly:
    """Plays public playback ids; a signed one answers 403 until token checks exist."""

    def check(self, playback: Playback, token: str | None, audience: str) -> None:
        if playback.policy != "public":
            raise TokenRequired()
