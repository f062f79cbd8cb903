"""Host-based routing for mux-player's ``custom-domain``: Mux's root paths on our own hosts.

mux-player with ``playback-id`` and ``custom-domain="video.example.com"`` asks
``https://stream.video.example.com/{playback_id}.m3u8`` and
``https://image.video.example.com/{playback_id}/thumbnail.webp``: the playback id sits at the
root of the path. reelhouse serves the same things under ``/stream/`` and ``/image/``. When the
operator names those two hosts, :class:`HostRouting` rewrites a request whose ``Host`` is one of
them onto the prefixed path before routing, so one process answers all three hosts::

    stream host   /{id}.m3u8            ->  /stream/{id}.m3u8
                  /{id}/v3/seg_1.m4s    ->  /stream/{id}/v3/seg_1.m4s
    image host    /{id}/thumbnail.webp  ->  /image/{id}/thumbnail.webp
    either host   /stream/... /image/... (already ours: left alone)
    any other host                      ->  untouched

On those two hosts *every* other path lands under the prefix too, so they serve media and
nothing else (``/video/v1/...`` there is a 404, never the API). Only ``Host`` is read: a
reverse proxy must pass it through (nginx: ``proxy_set_header Host $host``);
``X-Forwarded-Host`` is not trusted. Pure ASGI: bodies stream through untouched.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

STREAM_PREFIX = "/stream"
IMAGE_PREFIX = "/image"
OWN_PREFIXES = (STREAM_PREFIX + "/", IMAGE_PREFIX + "/")


def normalize_host(value: str) -> str:
    """``value`` lowercased, without a trailing dot."""
    return value.strip().lower().rstrip(".")


def host_matches(configured: str, header: str) -> bool:
    """Whether a ``Host`` header names ``configured``.

    A configured name without a port matches that name on any port (``stream.example.com``
    matches ``stream.example.com:8443``); one with a port matches only that port.
    """
    want = normalize_host(configured)
    got = normalize_host(header)
    if got == want:
        return True
    if want.endswith("]") or ":" not in want:
        name, colon, port = got.rpartition(":")
        if colon and port.isdigit() and not name.endswith(":"):
            return name.rstrip(".") == want
    return False


def rewrite_path(path: str, prefix: str) -> str:
    """``path`` of a request to a media host, on reelhouse's own ``prefix`` (see the table)."""
    if path.startswith(OWN_PREFIXES):
        return path
    return prefix + (path if path.startswith("/") else "/" + path)


class HostRouting:
    """Rewrites requests to the stream and image hosts onto ``/stream/`` and ``/image/``.

    ``stream_host`` / ``image_host`` are host names (optionally ``name:port``); None leaves
    that kind of request alone. With neither set the middleware passes everything through.
    """

    def __init__(
        self, app: ASGIApp, *, stream_host: str | None = None, image_host: str | None = None
    ) -> None:
        if stream_host and image_host and normalize_host(stream_host) == normalize_host(image_host):
            raise ValueError("the stream host and the image host must differ")
        self.app = app
        self.routes = [
            (host, prefix)
            for host, prefix in ((stream_host, STREAM_PREFIX), (image_host, IMAGE_PREFIX))
            if host
        ]

    def prefix_for(self, host_header: str | None) -> str | None:
        """The prefix requests with this ``Host`` are moved under, or None."""
        if host_header is None:
            return None
        for host, prefix in self.routes:
            if host_matches(host, host_header):
                return prefix
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.routes:
            await self.app(scope, receive, send)
            return
        prefix = self.prefix_for(header_value(scope, b"host"))
        if prefix is None:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        new_path = rewrite_path(path, prefix)
        if new_path == path:
            await self.app(scope, receive, send)
            return
        scope = dict(scope)
        scope["path"] = new_path
        raw_path = scope.get("raw_path")
        if raw_path is not None:
            scope["raw_path"] = prefix.encode() + (
                raw_path if raw_path.startswith(b"/") else b"/" + raw_path
            )
        await self.app(scope, receive, send)


def header_value(scope: Scope, name: bytes) -> str | None:
    """The first header ``name`` (lowercase bytes) of ``scope``, decoded as Latin-1."""
    for key, value in scope.get("headers", []):
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None
