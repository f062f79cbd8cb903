"""Host routing for mux-player's custom-domain: which requests move under /stream/ and /image/."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from reelhouse.server.hosts import HostRouting, host_matches, rewrite_path

PID = "pb0123456789abcdefXYZ"
STREAM = "stream.video.example.com"
IMAGE = "image.video.example.com"


@pytest.mark.parametrize(
    ("path", "prefix", "expected"),
    [
        (f"/{PID}.m3u8", "/stream", f"/stream/{PID}.m3u8"),
        (f"/{PID}", "/stream", f"/stream/{PID}"),
        (f"/{PID}.mpd", "/stream", f"/stream/{PID}.mpd"),
        (
            f"/{PID}/v3/video_720/seg_00001.m4s",
            "/stream",
            f"/stream/{PID}/v3/video_720/seg_00001.m4s",
        ),
        (f"/{PID}/highest.mp4", "/stream", f"/stream/{PID}/highest.mp4"),
        (f"/{PID}/thumbnail.webp", "/image", f"/image/{PID}/thumbnail.webp"),
        (f"/{PID}/storyboard.vtt", "/image", f"/image/{PID}/storyboard.vtt"),
        (f"/{PID}/animated.gif", "/image", f"/image/{PID}/animated.gif"),
        # already on our own paths (absolute URIs reelhouse hands out): left alone
        (f"/stream/{PID}.m3u8", "/stream", f"/stream/{PID}.m3u8"),
        (f"/image/{PID}/thumbnail.jpg", "/image", f"/image/{PID}/thumbnail.jpg"),
        (f"/image/{PID}/thumbnail.jpg", "/stream", f"/image/{PID}/thumbnail.jpg"),
        # everything else on a media host stays on it: never the API or the dashboard
        ("/video/v1/assets", "/stream", "/stream/video/v1/assets"),
        ("/", "/image", "/image/"),
        ("/streamfoo.m3u8", "/stream", "/stream/streamfoo.m3u8"),
        ("", "/stream", "/stream/"),
    ],
)
def test_rewrite_path(path: str, prefix: str, expected: str) -> None:
    assert rewrite_path(path, prefix) == expected


@pytest.mark.parametrize(
    ("configured", "header", "expected"),
    [
        (STREAM, STREAM, True),
        (STREAM, "Stream.Video.Example.COM", True),
        (STREAM, STREAM + ".", True),
        (STREAM, STREAM + ":8443", True),
        (STREAM + ":8443", STREAM + ":8443", True),
        (STREAM + ":8443", STREAM + ":443", False),
        (STREAM + ":8443", STREAM, False),
        (STREAM, IMAGE, False),
        (STREAM, "evil-" + STREAM, False),
        (STREAM, STREAM + ".evil.org", False),
        (STREAM, "127.0.0.1:8000", False),
        ("[::1]", "[::1]:8000", True),
        ("stream.localhost", "stream.localhost:8000", True),
    ],
)
def test_host_matches(configured: str, header: str, expected: bool) -> None:
    assert host_matches(configured, header) is expected


async def seen_scope(app: HostRouting, scope: Scope) -> Scope:
    """The scope ``app`` hands on to the app it wraps."""
    seen: dict[str, Any] = {}

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        pass

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.update(scope)

    app.app = inner
    await app(scope, receive, send)
    return seen


def http_scope(host: str | None, path: str, query: bytes = b"") -> Scope:
    headers = [(b"host", host.encode())] if host is not None else []
    return {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "headers": [*headers, (b"accept", b"*/*")],
    }


def routing(**hosts: str | None) -> HostRouting:
    async def unused(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("replaced by seen_scope")

    return HostRouting(unused, **hosts)


@pytest.mark.parametrize(
    ("host", "path", "expected"),
    [
        (STREAM, f"/{PID}.m3u8", f"/stream/{PID}.m3u8"),
        (STREAM + ":443", f"/{PID}/v1/audio/init.mp4", f"/stream/{PID}/v1/audio/init.mp4"),
        (IMAGE, f"/{PID}/thumbnail.webp", f"/image/{PID}/thumbnail.webp"),
        ("reelhouse.example.com", f"/{PID}.m3u8", f"/{PID}.m3u8"),
        ("reelhouse.example.com", "/video/v1/assets", "/video/v1/assets"),
        (None, f"/{PID}.m3u8", f"/{PID}.m3u8"),
    ],
)
async def test_middleware_rewrites_path_and_raw_path(
    host: str | None, path: str, expected: str
) -> None:
    app = routing(stream_host=STREAM, image_host=IMAGE)
    scope = await seen_scope(app, http_scope(host, path, b"token=abc"))
    assert scope["path"] == expected
    assert scope["raw_path"] == expected.encode()
    assert scope["query_string"] == b"token=abc"


async def test_middleware_keeps_the_callers_scope() -> None:
    app = routing(stream_host=STREAM)
    original = http_scope(STREAM, f"/{PID}.m3u8")
    await seen_scope(app, original)
    assert original["path"] == f"/{PID}.m3u8"


async def test_only_the_configured_host_is_rewritten() -> None:
    app = routing(image_host=IMAGE)
    assert (await seen_scope(app, http_scope(STREAM, f"/{PID}.m3u8")))["path"] == f"/{PID}.m3u8"
    image = await seen_scope(app, http_scope(IMAGE, f"/{PID}/storyboard.json"))
    assert image["path"] == f"/image/{PID}/storyboard.json"


async def test_without_hosts_everything_passes_through() -> None:
    app = routing()
    assert (await seen_scope(app, http_scope(STREAM, f"/{PID}.m3u8")))["path"] == f"/{PID}.m3u8"


async def test_non_http_scopes_pass_through() -> None:
    app = routing(stream_host=STREAM)
    scope = await seen_scope(app, {"type": "lifespan"})
    assert scope == {"type": "lifespan"}


def test_the_two_hosts_must_differ() -> None:
    with pytest.raises(ValueError, match="must differ"):
        routing(stream_host=STREAM, image_host=STREAM.upper())
