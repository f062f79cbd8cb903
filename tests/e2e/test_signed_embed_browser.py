"""Signed playback, images and static MP4s through a real ``reelhouse serve``.

A generated clip is uploaded with ``playback_policy: ["signed"]``, a signing key is made through
the API and a JWT minted with PyJWT (RS256, ``kid`` header, as an app backend does); the embed
page plays it in Debian's Chromium (Playwright, no downloads), and says it needs a valid signed
link when the token has expired. A public upload with ``mp4_support: capped-1080p`` checks the
images (thumbnail size, storyboard tiles inside the sprite) and a Range request on the MP4.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import httpx
import jwt
import pytest
from playwright.sync_api import Page

from .assets import asset_of_upload, tus_upload, wait_for_asset
from .server import ServerProcess
from .test_embed_browser import (  # noqa: F401  (fixtures)
    CHROMIUM,
    browser,
    console_problems,
    open_embed,
    page,
    player,
)
from .uploads_client import create_direct_upload

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)"
)
MP4 = "capped-1080p.mp4"
XYWH = re.compile(r"^(\S+)#xywh=(\d+),(\d+),(\d+),(\d+)$", re.MULTILINE)


def start_upload(server: ServerProcess, path: Path, **settings: Any) -> str:
    """Upload ``path`` through a direct upload with ``settings``; return the asset id."""
    with server.client() as api:
        upload = create_direct_upload(api, new_asset_settings=settings)
        tus_upload(str(upload["url"]), path)
        return asset_of_upload(api, str(upload["id"]))


def wait_ready(server: ServerProcess, asset_id: str) -> dict[str, Any]:
    with server.client() as api:
        asset = wait_for_asset(api, asset_id)
    assert asset["status"] == "ready", asset
    return asset


def wait_for_static_renditions(
    server: ServerProcess, asset_id: str, timeout: float = 120.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    with server.client() as api:
        while time.monotonic() < deadline:
            asset: dict[str, Any] = api.get(f"/video/v1/assets/{asset_id}").json()["data"]
            state = asset.get("static_renditions") or {}
            if state.get("status") == "ready":
                return asset
            assert state.get("status") != "errored", state
            time.sleep(0.5)
    raise AssertionError(f"static renditions of {asset_id} not ready after {timeout} s")


@pytest.fixture(scope="module")
def uploaded(media_server: ServerProcess, clip: Callable[[str], Path]) -> dict[str, str]:
    """Both uploads started before either is waited for: the worker makes them side by side."""
    small = clip("small")
    return {
        "signed": start_upload(media_server, small, playback_policy=["signed"]),
        "public": start_upload(
            media_server, small, playback_policy=["public"], mp4_support=MP4[:-4]
        ),
    }


@pytest.fixture(scope="module")
def signed_asset(media_server: ServerProcess, uploaded: dict[str, str]) -> dict[str, Any]:
    return wait_ready(media_server, uploaded["signed"])


@pytest.fixture(scope="module")
def public_asset(media_server: ServerProcess, uploaded: dict[str, str]) -> dict[str, Any]:
    wait_ready(media_server, uploaded["public"])
    return wait_for_static_renditions(media_server, uploaded["public"])


def playback_id(asset: dict[str, Any], policy: str) -> str:
    return str(next(p["id"] for p in asset["playback_ids"] if p["policy"] == policy))


@pytest.fixture(scope="module")
def signing_key(media_server: ServerProcess) -> tuple[str, bytes]:
    """A signing key made through the API: its id and the private key's PEM."""
    with media_server.client() as api:
        created = api.post("/system/v1/signing-keys")
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    pem = base64.b64decode(data["private_key"])
    assert pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    return str(data["id"]), pem


def mint(key: tuple[str, bytes], pid: str, aud: str, expires_in: int = 3600) -> str:
    key_id, pem = key
    claims = {"sub": pid, "aud": aud, "exp": int(time.time()) + expires_in}
    return jwt.encode(claims, pem, algorithm="RS256", headers={"kid": key_id})


# -- the signed embed in a browser ----------------------------------------------------------------


@needs_chromium
def test_signed_embed_plays_with_a_valid_token(
    page: Page,  # noqa: F811
    media_server: ServerProcess,
    signed_asset: dict[str, Any],
    signing_key: tuple[str, bytes],
) -> None:
    assert [p["policy"] for p in signed_asset["playback_ids"]] == ["signed"]
    pid = playback_id(signed_asset, "signed")
    problems = console_problems(page)
    query = (
        f"?token={mint(signing_key, pid, 'v')}"
        f"&thumbnail_token={mint(signing_key, pid, 't')}"
        f"&storyboard_token={mint(signing_key, pid, 's')}"
    )
    assert open_embed(page, media_server, pid, query) == 200
    assert player(page, "state") == "paused", player(page, "error")
    page.evaluate("window.reelhousePlayer.video.muted = true; window.reelhousePlayer.play()")
    page.wait_for_function("() => window.reelhousePlayer.currentTime > 2", timeout=60_000)
    assert player(page, "state") in ("playing", "ended"), player(page, "error")
    assert player(page, "fatalErrors") == []
    assert player(page, "error") is None
    assert player(page, "levels"), "hls.js parsed no renditions"
    assert not [p for p in problems if "Content Security Policy" in p or "uncaught" in p]
    # the poster and the storyboard came with their own tokens (aud t and s)
    poster = page.evaluate("document.querySelector('video').poster")
    assert "/thumbnail.webp?token=" in poster
    assert page.evaluate("url => fetch(url).then(r => r.status)", poster) == 200
    page.wait_for_function("() => window.reelhousePlayer.storyboard !== null")
    sprite = page.evaluate("window.reelhousePlayer.storyboard.url")
    assert "/storyboard.jpg?token=" in sprite
    assert page.evaluate("url => fetch(url).then(r => r.status)", sprite) == 200


@needs_chromium
def test_signed_embed_with_an_expired_token_asks_for_a_signed_link(
    page: Page,  # noqa: F811
    media_server: ServerProcess,
    signed_asset: dict[str, Any],
    signing_key: tuple[str, bytes],
) -> None:
    pid = playback_id(signed_asset, "signed")
    expired = mint(signing_key, pid, "v", expires_in=-120)
    open_embed(page, media_server, pid, f"?token={expired}")
    page.wait_for_function("() => window.reelhousePlayer.state === 'error'")
    assert page.locator(".rh-message").inner_text() == "This video needs a valid signed link"
    assert player(page, "error")["status"] == 403
    # a token but no thumbnail_token: no poster (as mux-player), and no storyboard either
    assert page.evaluate("document.querySelector('video').poster") == ""
    assert player(page, "storyboard") is None


def test_signed_stream_refuses_other_audiences_and_no_token(
    media_server: ServerProcess, signed_asset: dict[str, Any], signing_key: tuple[str, bytes]
) -> None:
    pid = playback_id(signed_asset, "signed")
    base = media_server.base_url
    assert httpx.get(f"{base}/stream/{pid}.m3u8").status_code == 403
    thumb = httpx.get(f"{base}/stream/{pid}.m3u8?token={mint(signing_key, pid, 't')}")
    assert thumb.status_code == 403
    assert "this URL needs 'v'" in thumb.json()["error"]["messages"][0]
    good = httpx.get(f"{base}/stream/{pid}.m3u8?token={mint(signing_key, pid, 'v')}")
    assert good.status_code == 200
    assert good.headers["cache-control"].startswith("private")
    embed = httpx.get(f"{base}/embed/{pid}?token={mint(signing_key, pid, 'v')}")
    assert embed.status_code == 200
    assert embed.headers["cache-control"] == "private, no-store"


# -- images and the static MP4 of a public id ------------------------------------------------


def decoded_size(data: bytes, tmp_path: Path, ext: str) -> tuple[int, int]:
    path = tmp_path / f"decoded.{ext}"
    path.write_bytes(data)
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
    return frame.width, frame.height


def test_thumbnails_have_the_requested_size(
    media_server: ServerProcess, public_asset: dict[str, Any], tmp_path: Path
) -> None:
    pid = playback_id(public_asset, "public")
    for query, ext, size in [
        ("width=320", "jpg", (320, 180)),
        ("width=160&time=1", "webp", (160, 90)),
        ("height=90&width=90&fit_mode=pad", "png", (90, 90)),
    ]:
        answer = httpx.get(
            f"{media_server.base_url}/image/{pid}/thumbnail.{ext}?{query}", timeout=30
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["cache-control"].startswith("public")
        assert decoded_size(answer.content, tmp_path, ext) == size, query


@pytest.mark.parametrize("fmt", ["jpg", "webp"])
def test_storyboard_vtt_regions_lie_inside_the_sprite(
    media_server: ServerProcess, public_asset: dict[str, Any], tmp_path: Path, fmt: str
) -> None:
    pid = playback_id(public_asset, "public")
    vtt = httpx.get(f"{media_server.base_url}/image/{pid}/storyboard.vtt?format={fmt}", timeout=60)
    assert vtt.status_code == 200, vtt.text
    assert vtt.text.startswith("WEBVTT")
    cues = XYWH.findall(vtt.text)
    assert len(cues) >= 2, vtt.text  # a 4 s clip: one tile a second at most
    urls = {url for url, *_ in cues}
    assert urls == {f"{media_server.base_url}/image/{pid}/storyboard.{fmt}"}
    sprite = httpx.get(urls.pop(), timeout=60)
    assert sprite.status_code == 200
    width, height = decoded_size(sprite.content, tmp_path, fmt)
    boxes = [tuple(int(v) for v in box) for _, *box in cues]
    for x, y, w, h in boxes:
        assert w > 0 and h > 0
        assert x + w <= width and y + h <= height, ((x, y, w, h), (width, height))
    assert len(set(boxes)) == len(boxes), "two cues show the same tile"


def test_static_mp4_ranges_and_decodes(
    media_server: ServerProcess, public_asset: dict[str, Any], tmp_path: Path
) -> None:
    [file] = public_asset["static_renditions"]["files"]
    assert (file["name"], file["status"]) == (MP4, "ready")
    pid = playback_id(public_asset, "public")
    url = f"{media_server.base_url}/stream/{pid}/{MP4}"
    first = httpx.get(url, headers={"Range": "bytes=0-99"}, timeout=30)
    assert first.status_code == 206, first.text
    assert len(first.content) == 100
    whole = httpx.get(url, timeout=60)
    assert whole.status_code == 200
    assert whole.headers["content-type"] == "video/mp4"
    assert whole.headers["accept-ranges"] == "bytes"
    assert int(file["filesize"]) == len(whole.content)
    assert first.headers["content-range"] == f"bytes 0-99/{len(whole.content)}"
    assert first.content == whole.content[:100]
    assert whole.content[4:8] == b"ftyp"
    path = tmp_path / MP4
    path.write_bytes(whole.content)
    with av.open(str(path)) as container:
        assert sorted(s.type for s in container.streams) == ["audio", "video"]
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (640, 360)
        assert container.duration is not None
        assert container.duration / 1_000_000 == pytest.approx(4.0, abs=0.2)
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == pytest.approx(120, abs=3)  # 4 s at 30 fps
