"""The embed page: the URLs it plays (a pure table) and the page itself (in-process ASGI)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from reelhouse.web.embed import CONTENT_SECURITY_POLICY, PlayerSource, embed_routes, player_source
from reelhouse.web.static import static_mount

PID = "pb0123456789abcdefXYZ"
IMG = f"/image/{PID}"
BOARD = f"{IMG}/storyboard.json"


@pytest.mark.parametrize(
    ("query", "stream", "poster", "storyboard"),
    [
        ({}, f"/stream/{PID}.m3u8", f"{IMG}/thumbnail.webp", f"{IMG}/storyboard.json"),
        (
            {"thumbnail_time": "12.5"},
            f"/stream/{PID}.m3u8",
            f"{IMG}/thumbnail.webp?time=12.5",
            f"{IMG}/storyboard.json",
        ),
        ({"thumbnail_time": "-1"}, f"/stream/{PID}.m3u8", f"{IMG}/thumbnail.webp", BOARD),
        ({"thumbnail_time": "nan"}, f"/stream/{PID}.m3u8", f"{IMG}/thumbnail.webp", BOARD),
        ({"thumbnail_time": "soon"}, f"/stream/{PID}.m3u8", f"{IMG}/thumbnail.webp", BOARD),
        # signed: only the token on the stream URL; images need their own tokens (as mux-player)
        ({"token": "a.b.c"}, f"/stream/{PID}.m3u8?token=a.b.c", None, None),
        (
            {"token": "a.b.c", "thumbnail_time": "3"},
            f"/stream/{PID}.m3u8?token=a.b.c",
            None,
            None,
        ),
        (
            {"token": "a.b.c", "thumbnail_token": "t.t.t", "storyboard_token": "s.s.s"},
            f"/stream/{PID}.m3u8?token=a.b.c",
            f"{IMG}/thumbnail.webp?token=t.t.t",
            f"{IMG}/storyboard.json?token=s.s.s",
        ),
        ({"token": "x&y=1"}, f"/stream/{PID}.m3u8?token=x%26y%3D1", None, None),
        ({"token": ""}, f"/stream/{PID}.m3u8", f"{IMG}/thumbnail.webp", f"{IMG}/storyboard.json"),
    ],
)
def test_player_source_urls(
    query: dict[str, str], stream: str, poster: str | None, storyboard: str | None
) -> None:
    source = player_source(PID, query)
    assert source.stream_url == stream
    assert source.poster_url == poster
    assert source.storyboard_url == storyboard
    assert source.signed is bool(query.get("token"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, False), ("", True), ("1", True), ("true", True), ("0", False), ("False", False)],
)
def test_switches(value: str | None, expected: bool) -> None:
    query = {} if value is None else {"autoplay": value}
    assert player_source(PID, query).autoplay is expected


def test_prefixes_follow_the_mounts() -> None:
    source = player_source(PID, {}, stream_prefix="/s", image_prefix="/i")
    assert source == PlayerSource(
        PID, f"/s/{PID}.m3u8", f"/i/{PID}/thumbnail.webp", f"/i/{PID}/storyboard.json"
    )


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=[*embed_routes(), static_mount()])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def test_page_carries_the_player_and_its_policy(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/embed/{PID}?autoplay=1")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["cache-control"] == "public, max-age=300"
    assert f'data-src="/stream/{PID}.m3u8"' in response.text
    assert 'data-autoplay="true"' in response.text
    assert f'poster="/image/{PID}/thumbnail.webp"' in response.text
    assert '<script src="/static/vendor/hls.min.js"></script>' in response.text
    assert "<script>" not in response.text  # the CSP allows no inline script


async def test_signed_page_is_never_cached_and_escapes_its_input(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/embed/{PID}", params={"token": '"><script>alert(1)</script>'})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, no-store"
    assert "<script>alert" not in response.text
    assert "data-poster" not in response.text


@pytest.mark.parametrize("bad", ["short", "x" * 65, "has-dash-in-it-0123"])
async def test_malformed_id_is_a_400_page_without_player(
    client: httpx.AsyncClient, bad: str
) -> None:
    response = await client.get(f"/embed/{bad}")
    assert response.status_code == 400
    assert "This is not a valid video link" in response.text
    assert "player.js" not in response.text
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


async def test_head_and_static_files(client: httpx.AsyncClient) -> None:
    assert (await client.head(f"/embed/{PID}")).status_code == 200
    script = await client.get("/static/player.js")
    assert script.status_code == 200
    assert "reelhousePlayer" in script.text
    assert (await client.get("/static/player.css")).status_code == 200
