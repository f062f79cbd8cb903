"""``GET /embed/{playback_id}``: a full-page player to put in an ``<iframe>``.

The page is static for a playback id: it never looks the id up. ``static/player.js`` plays
``/stream/{id}.m3u8`` with hls.js (native HLS where MSE is missing) and turns the stream's
status codes into human text (412 "still being prepared", and keeps polling until it plays;
403 "needs a valid signed link"; 404; 400), so a preparing asset's embed starts by itself
once it is ready. Query parameters (all optional)::

    token              signed playback: appended to the stream URL, and nothing else is
    thumbnail_token    signed poster (aud "t"); with a token but none, no poster (as mux-player)
    storyboard_token   signed seek previews (aud "s"); with a token but none, no previews
    thumbnail_time     seconds into the video for the poster (public ids only, as mux-player)
    autoplay, muted, loop   "1"/"true" to turn on
    disable_tracking   "1"/"true": send no view beacons (as mux-player's ``disable-tracking``)

The page carries a strict Content-Security-Policy: our own origin only, no inline script, media
from ``blob:`` (MSE). Everything the script needs rides on ``data-`` attributes. The player
reports views to the same origin's ``/beacon`` (``static/beacons.js``; ``connect-src 'self'``
allows it), see docs/analytics.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from reelhouse import ids
from reelhouse.web.static import STATIC_PREFIX, page_templates

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; media-src 'self' blob:; img-src 'self' data:; connect-src 'self'"
)
PUBLIC_CACHE = "public, max-age=300"
PRIVATE_CACHE = "private, no-store"
MAX_TIME = 10 * 24 * 3600.0
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
INVALID_LINK = "This is not a valid video link"


@dataclass(frozen=True)
class EmbedDeps:
    """What the embed page needs: its templates and where the other surfaces are mounted."""

    templates: Jinja2Templates = field(default_factory=page_templates)
    static_prefix: str = STATIC_PREFIX
    stream_prefix: str = "/stream"
    image_prefix: str = "/image"
    beacon_path: str = "/beacon"


@dataclass(frozen=True)
class PlayerSource:
    """The URLs and switches one embed page plays with (``None``: leave that part out)."""

    playback_id: str
    stream_url: str
    poster_url: str | None
    storyboard_url: str | None
    beacon_url: str | None = "/beacon"
    autoplay: bool = False
    muted: bool = False
    loop: bool = False
    signed: bool = False


def with_query(url: str, params: Mapping[str, str]) -> str:
    return f"{url}?{urlencode(params)}" if params else url


def parse_seconds(value: str | None) -> float | None:
    """A non-negative, finite number of seconds, or None for anything else."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and 0 <= seconds <= MAX_TIME else None


def parse_switch(value: str | None) -> bool:
    """``?autoplay`` / ``?autoplay=1`` / ``=true`` are on; absent, ``0``, ``false`` are off."""
    return value is not None and value.strip().lower() not in FALSE_WORDS


def player_source(
    playback_id: str,
    query: Mapping[str, str],
    *,
    stream_prefix: str = "/stream",
    image_prefix: str = "/image",
    beacon_path: str = "/beacon",
) -> PlayerSource:
    """The player's URLs for ``playback_id`` and the embed page's ``query``. Pure.

    Signed playback follows Mux: only ``token`` goes on the stream URL; the poster and the
    storyboard need tokens of their own audiences, and are left out without them.
    """
    token = query.get("token") or None
    stream_url = with_query(
        f"{stream_prefix}/{playback_id}.m3u8", {"token": token} if token else {}
    )
    image_base = f"{image_prefix}/{playback_id}"
    poster_url: str | None
    storyboard_url: str | None
    if token:
        thumb_token = query.get("thumbnail_token") or None
        board_token = query.get("storyboard_token") or None
        poster_url = (
            with_query(f"{image_base}/thumbnail.webp", {"token": thumb_token})
            if thumb_token
            else None
        )
        storyboard_url = (
            with_query(f"{image_base}/storyboard.json", {"token": board_token})
            if board_token
            else None
        )
    else:
        time = parse_seconds(query.get("thumbnail_time"))
        poster_url = with_query(
            f"{image_base}/thumbnail.webp", {"time": f"{time:g}"} if time is not None else {}
        )
        storyboard_url = f"{image_base}/storyboard.json"
    return PlayerSource(
        playback_id=playback_id,
        stream_url=stream_url,
        poster_url=poster_url,
        storyboard_url=storyboard_url,
        beacon_url=None if parse_switch(query.get("disable_tracking")) else beacon_path,
        autoplay=parse_switch(query.get("autoplay")),
        muted=parse_switch(query.get("muted")),
        loop=parse_switch(query.get("loop")),
        signed=token is not None,
    )


def embed_routes(deps: EmbedDeps | None = None) -> list[Route]:
    """``GET|HEAD /embed/{playback_id}``; mount with ``routes.extend(embed_routes(deps))``."""
    page = EmbedPage(deps or EmbedDeps())
    return [Route("/embed/{playback_id}", page.render, methods=["GET", "HEAD"])]


class EmbedPage:
    """The endpoint behind :func:`embed_routes`."""

    def __init__(self, deps: EmbedDeps) -> None:
        self.deps = deps

    async def render(self, request: Request) -> Response:
        playback_id = request.path_params["playback_id"]
        if not ids.is_well_formed(playback_id):
            return self._page(request, None, error=INVALID_LINK, status_code=400)
        source = player_source(
            playback_id,
            request.query_params,
            stream_prefix=self.deps.stream_prefix,
            image_prefix=self.deps.image_prefix,
            beacon_path=self.deps.beacon_path,
        )
        return self._page(request, source)

    def _page(
        self,
        request: Request,
        source: PlayerSource | None,
        *,
        error: str | None = None,
        status_code: int = 200,
    ) -> Response:
        private = source is None or source.signed or status_code != 200
        headers = {
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "strict-origin-when-cross-origin",
            "Cache-Control": PRIVATE_CACHE if private else PUBLIC_CACHE,
        }
        context = {
            "source": asdict(source) if source else None,
            "error": error,
            "static": self.deps.static_prefix,
        }
        return self.deps.templates.TemplateResponse(
            request, "embed.html", context, status_code=status_code, headers=headers
        )
