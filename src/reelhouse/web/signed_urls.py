"""Signed playback from the asset page: signing keys and the signed URL generator (JSON for
``static/asset.js``; session cookie and ``X-CSRF-Token``)::

    POST /dashboard/api/signing-keys                  (system:write) a new key: ``{id,
                                                      private_key}``, the private half shown once
    POST /dashboard/api/assets/{asset_id}/signed-urls {playback_id, key_id, private_key,
                                                      expires_in} -> stream, embed and thumbnail
                                                      URLs with tokens

reelhouse keeps only the public half of a key, so the generator is sent the private half (as
``reelhouse keys create`` and the API print it: base64 of the PEM, or the PEM) for the one
request that mints with it; it is checked against the key's public half, never stored or
logged. Tokens are minted by :func:`reelhouse.media.signing_keys.sign_playback_token`, the
function ``reelhouse sign`` uses.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reelhouse.errors import InvalidParameters, NotFound
from reelhouse.media import signing_keys
from reelhouse.media.playback_ids import get_playback_id
from reelhouse.media.tokens import SYSTEM_WRITE, VIDEO_READ
from reelhouse.web import asset_views
from reelhouse.web.dashboard import BodyTooLarge, Dashboard, read_capped
from reelhouse.web.sessions import DashboardSession

MAX_BODY: Final = 32 * 1024
MIN_EXPIRY: Final = 60
MAX_EXPIRY: Final = 365 * 86400
# The tokens the player page needs: the stream, its poster and its seek previews.
VIDEO, THUMBNAIL, STORYBOARD = "v", "t", "s"


class SignedUrls:
    """The endpoints behind :func:`signed_url_routes`."""

    def __init__(self, board: Dashboard) -> None:
        self.board = board
        self.deps = board.deps

    async def create_key(self, request: Request) -> Response:
        session = await self.board.gate_json(request, SYSTEM_WRITE, write=True)
        if not isinstance(session, DashboardSession):
            return session
        private_pem, public_pem = await asyncio.to_thread(signing_keys.generate_key_pair)
        async with self.deps.sessions.begin() as db:
            row = await signing_keys.create_signing_key(
                db, session.environment_id, public_pem, now=self.deps.clock()
            )
            view = signing_keys.signing_key_view(row, private_pem)
        return JSONResponse(view, status_code=201, headers=self.board.headers())

    async def mint(self, request: Request) -> Response:
        session = await self.board.gate_json(request, VIDEO_READ, write=True)
        if not isinstance(session, DashboardSession):
            return session
        try:
            wanted = await _read_json(request)
            urls = await self._mint(session, request.path_params["asset_id"], wanted)
        except InvalidParameters as exc:
            return JSONResponse({"error": asset_views.sentence(exc.message)}, status_code=400)
        except NotFound:
            error = "That signed playback id is not on this video."
            return JSONResponse({"error": error}, status_code=404)
        return JSONResponse(urls, headers=self.board.headers())

    async def _mint(
        self, session: DashboardSession, asset_id: str, wanted: dict[str, Any]
    ) -> dict[str, Any]:
        pid, key_id = str(wanted.get("playback_id", "")), str(wanted.get("key_id", "")).strip()
        pasted = str(wanted.get("private_key", ""))
        if not key_id:
            raise InvalidParameters("Choose a signing key.")
        if not pasted.strip():
            raise InvalidParameters("Paste the private key of the signing key.")
        expires_in = _expiry(wanted.get("expires_in"))
        private_pem = signing_keys.private_key_pem(pasted)
        async with self.deps.sessions() as db:
            playback = await get_playback_id(db, session.environment_id, asset_id, pid)
            try:
                key = await signing_keys.get_signing_key(db, session.environment_id, key_id)
            except NotFound:
                raise InvalidParameters(f"There is no signing key {key_id!r} here.") from None
        if playback.policy != "signed":
            raise InvalidParameters("A public playback id needs no token.")
        if not signing_keys.holds_private_half(key, private_pem):
            raise InvalidParameters(f"That private key is not the one of signing key {key.id}.")
        expires_at = int(self.deps.clock().timestamp()) + expires_in

        def token(audience: str) -> str:
            return signing_keys.sign_playback_token(
                private_pem,
                key_id=key.id,
                playback_id=pid,
                audience=audience,
                expires_at=expires_at,
            )

        base, video = self.deps.base_url, token(VIDEO)
        tokens = {"token": video, "thumbnail_token": token(THUMBNAIL)}
        tokens["storyboard_token"] = token(STORYBOARD)
        embed = asset_views.embed_url(base, pid, tokens)
        return {
            "playback_id": pid,
            "key_id": key.id,
            "expires_at": datetime.fromtimestamp(expires_at, UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "stream_url": asset_views.stream_url(base, pid, video),
            "embed_url": embed,
            "embed_html": asset_views.embed_snippet(embed, f"Video {pid}"),
            "thumbnail_url": asset_views.thumbnail_url(base, pid, tokens["thumbnail_token"]),
        }


async def _read_json(request: Request) -> dict[str, Any]:
    try:
        body = await read_capped(request, MAX_BODY)
    except BodyTooLarge:
        raise InvalidParameters("The request is too large.") from None
    try:
        wanted = json.loads(body)
    except ValueError:
        raise InvalidParameters("Send a JSON object.") from None
    if not isinstance(wanted, dict):
        raise InvalidParameters("Send a JSON object.")
    return wanted


def _expiry(value: object) -> int:
    """Seconds from now, from :data:`MIN_EXPIRY` to :data:`MAX_EXPIRY`."""
    try:
        seconds = int(str(value))
    except ValueError:
        raise InvalidParameters("Choose how long the link stays valid.") from None
    if not MIN_EXPIRY <= seconds <= MAX_EXPIRY:
        raise InvalidParameters("A signed link lasts from one minute to one year.")
    return seconds


def signed_url_routes(board: Dashboard) -> list[Route]:
    urls = SignedUrls(board)
    return [
        Route("/dashboard/api/signing-keys", urls.create_key, methods=["POST"]),
        Route("/dashboard/api/assets/{asset_id}/signed-urls", urls.mint, methods=["POST"]),
    ]
