"""The embed player in a real browser: Debian's Chromium driven by Playwright (no downloads).

A real ``reelhouse serve`` transcodes a generated clip; ``/embed/{playback_id}`` must play it
with hls.js under the page's own CSP, answer the keyboard, say in words why a video cannot
play, and start by itself once a preparing video is ready. The @mux/upchunk test uploads from
a page on another origin, as a customer's web app does with a direct-upload URL.
"""

from __future__ import annotations

import asyncio
import shutil
import struct
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright
from sqlalchemy import update

from reelhouse.db.engine import create_engine, session_factory
from reelhouse.db.models import Asset

from .assets import add_signed_playback_id, public_id
from .database import database_url
from .server import ServerProcess
from .sites import static_site
from .uploads_client import create_direct_upload, stored_bytes

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
UPCHUNK = ROOT / "node_modules" / "@mux" / "upchunk" / "dist" / "upchunk.js"
HLS_JS = ROOT / "src" / "reelhouse" / "web" / "static" / "vendor" / "hls.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
CSP = "default-src 'self'; media-src 'self' blob:; img-src 'self' data:; connect-src 'self'"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not HLS_JS.exists():
        pytest.fail("hls.js is missing from web/static/vendor: run `make install`")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    try:
        yield tab
    finally:
        context.close()


def console_problems(page: Page) -> list[str]:
    """Collects console errors (CSP violations included) the page logs from now on."""
    problems: list[str] = []

    def keep(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    page.on("console", keep)
    page.on("pageerror", lambda exc: problems.append(f"uncaught: {exc}"))
    return problems


def open_embed(page: Page, server: ServerProcess, playback_id: str, query: str = "") -> int:
    response = page.goto(f"{server.base_url}/embed/{playback_id}{query}")
    assert response is not None
    assert response.headers["content-security-policy"] == CSP
    page.wait_for_function(
        "() => window.reelhousePlayer && window.reelhousePlayer.state !== 'loading'"
    )
    return response.status


def player(page: Page, field: str) -> Any:
    return page.evaluate(f"window.reelhousePlayer.{field}")


def test_embed_plays_the_stream_muted(
    page: Page, media_server: ServerProcess, lesson: dict[str, Any]
) -> None:
    problems = console_problems(page)
    assert open_embed(page, media_server, public_id(lesson)) == 200
    assert player(page, "state") == "paused", player(page, "error")
    page.evaluate("window.reelhousePlayer.video.muted = true; window.reelhousePlayer.play()")
    page.wait_for_function("() => window.reelhousePlayer.currentTime > 2", timeout=60_000)
    assert player(page, "state") == "playing"
    assert player(page, "fatalErrors") == []
    assert player(page, "levels"), "hls.js parsed no renditions"
    assert not [p for p in problems if "Content Security Policy" in p or "uncaught" in p]
    page.mouse.move(640, 360)
    page.mouse.move(640, 680)  # wakes the controls, which hide while playing
    page.wait_for_timeout(300)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "embed-playing.png"))
    quality = page.locator(".rh-quality-button")
    if len(player(page, "levels")) > 1:
        quality.click()
        items = page.locator(".rh-quality-menu [role=menuitemradio]")
        assert items.last.inner_text() == "Auto"
        items.first.click()
        assert player(page, "currentLevel") >= 0
        assert quality.get_attribute("aria-label") != "Quality: Auto"


def test_keyboard_seeks_mutes_and_pauses(
    page: Page, media_server: ServerProcess, lesson: dict[str, Any]
) -> None:
    open_embed(page, media_server, public_id(lesson))
    page.wait_for_function("() => window.reelhousePlayer.duration > 0")
    assert player(page, "currentTime") == 0
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => Math.abs(window.reelhousePlayer.currentTime - 5) < 0.01")
    assert page.locator(".rh-seekbar").get_attribute("aria-valuetext") == "0:05 of 0:10"
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("() => window.reelhousePlayer.currentTime === 0")
    page.keyboard.press("m")
    assert player(page, "video.muted") is True
    assert page.locator(".rh-mute").get_attribute("aria-label") == "Unmute"
    page.keyboard.press("k")
    page.wait_for_function("() => window.reelhousePlayer.state === 'playing'")
    page.keyboard.press(" ")
    page.wait_for_function("() => window.reelhousePlayer.state === 'paused'")


def test_fits_a_phone(
    browser: Browser, media_server: ServerProcess, lesson: dict[str, Any]
) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 640}, has_touch=True)
    try:
        page = context.new_page()
        open_embed(page, media_server, public_id(lesson))
        bar = page.locator(".rh-bar")
        assert bar.evaluate("bar => bar.scrollWidth <= bar.clientWidth")
        assert page.locator(".rh-fullscreen").is_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "embed-phone.png"))
    finally:
        context.close()


async def _set_status(url: str, asset_id: str, status: str) -> None:
    engine = create_engine(url)
    try:
        async with session_factory(engine).begin() as session:
            await session.execute(update(Asset).where(Asset.id == asset_id).values(status=status))
    finally:
        await engine.dispose()


def set_status(server: ServerProcess, asset_id: str, status: str) -> None:
    """Set an asset's status by hand (in a thread: Playwright's loop owns this one)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, _set_status(database_url(server), asset_id, status)).result()


def wait_until_served(server: ServerProcess, playback_id: str, status_code: int) -> None:
    """Wait until the server answers the playlist with ``status_code``: each web process keeps
    playback snapshots for up to a second, so a status set by hand shows a moment later."""
    url = f"{server.base_url}/stream/{playback_id}.m3u8"
    for _ in range(100):
        if httpx.get(url, timeout=5).status_code == status_code:
            return
        time.sleep(0.1)
    pytest.fail(f"{url} never answered {status_code}")


def test_preparing_video_says_so_then_starts_when_ready(
    page: Page, media_server: ServerProcess, lesson: dict[str, Any]
) -> None:
    set_status(media_server, lesson["id"], "preparing")
    try:
        wait_until_served(media_server, public_id(lesson), 412)
        open_embed(page, media_server, public_id(lesson))
        page.wait_for_function("() => window.reelhousePlayer.state === 'preparing'")
        message = page.locator(".rh-message")
        assert message.inner_text() == "This video is still being prepared"
        assert message.get_attribute("role") == "status"
    finally:
        set_status(media_server, lesson["id"], "ready")
    page.wait_for_function("() => window.reelhousePlayer.state === 'paused'", timeout=20_000)
    assert message.is_hidden()


def test_signed_video_without_token_asks_for_a_signed_link(
    page: Page, media_server: ServerProcess, lesson: dict[str, Any]
) -> None:
    signed_id = add_signed_playback_id(media_server, lesson["id"])
    open_embed(page, media_server, signed_id)
    page.wait_for_function("() => window.reelhousePlayer.state === 'error'")
    assert page.locator(".rh-message").inner_text() == "This video needs a valid signed link"
    assert player(page, "error")["status"] == 403


def test_unknown_and_malformed_ids(page: Page, media_server: ServerProcess) -> None:
    open_embed(page, media_server, "pb0000000000000000000000unknown")
    page.wait_for_function("() => window.reelhousePlayer.state === 'error'")
    assert page.locator(".rh-message").inner_text() == "This video does not exist"
    response = page.goto(f"{media_server.base_url}/embed/not..valid")
    assert response is not None
    assert response.status == 400
    assert page.locator(".rh-message").inner_text() == "This is not a valid video link"


# -- @mux/upchunk from a page on another origin -------------------------------------------------

UPLOAD_PAGE = """<!doctype html><meta charset="utf-8"><title>upchunk</title>
<script src="upchunk.js"></script>"""

UPLOAD_SCRIPT = """([endpoint, size]) => new Promise((resolve) => {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + 7) % 251;
  const file = new File([bytes], "x.mp4", { type: "video/mp4" });
  const upload = UpChunk.createUpload({ endpoint, file, chunkSize: 256 });
  const chunks = [];
  upload.on("chunkSuccess", (event) => chunks.push(event.detail.response.statusCode));
  upload.on("success", () => resolve({ ok: true, chunks }));
  upload.on("error", (event) => resolve({ ok: false, detail: String(event.detail.message) }));
})"""


def upload_pattern(size: int) -> bytes:
    return bytes((i * 31 + 7) % 251 for i in range(size))


def test_upchunk_uploads_cross_origin(
    page: Page, media_server: ServerProcess, tmp_path: Path
) -> None:
    if not UPCHUNK.exists():
        pytest.fail("@mux/upchunk is missing: run `make install` (npm install)")
    shutil.copy(UPCHUNK, tmp_path / "upchunk.js")
    (tmp_path / "index.html").write_text(UPLOAD_PAGE)
    size = 3 * 1024 * 1024 + 4321
    with static_site(tmp_path) as origin:
        with media_server.client() as api:
            upload = create_direct_upload(api, cors_origin=origin)
        page.goto(f"{origin}/index.html")
        result = page.evaluate(UPLOAD_SCRIPT, [str(upload["url"]), size])
    assert result["ok"], result
    chunks = result["chunks"]
    assert len(chunks) == 13  # 12 full 256 KiB chunks and the tail
    assert set(chunks[:-1]) == {308}, chunks
    assert chunks[-1] in (200, 201)
    assert stored_bytes(media_server.data_dir, str(upload["id"])) == upload_pattern(size)


def test_storyboard_previews_on_the_seek_bar(
    page: Page, media_server: ServerProcess, lesson: dict[str, Any]
) -> None:
    pid = public_id(lesson)
    board = {
        "url": f"{media_server.base_url}/image/{pid}/storyboard.png",
        "tile_width": 160,
        "tile_height": 90,
        "duration": 10,
        "tiles": [{"start": 0, "x": 0, "y": 0}, {"start": 5, "x": 160, "y": 0}],
    }
    # Stands in for the image surface, whatever it answers today.
    page.route(f"**/image/{pid}/storyboard.json", lambda route: route.fulfill(json=board))
    page.route(
        f"**/image/{pid}/storyboard.png",
        lambda route: route.fulfill(body=PIXEL_PNG, content_type="image/png"),
    )
    open_embed(page, media_server, pid)
    page.wait_for_function(
        "() => window.reelhousePlayer.storyboard && window.reelhousePlayer.duration > 0"
    )
    seekbar = page.locator(".rh-seekbar").bounding_box()
    assert seekbar is not None
    page.mouse.move(seekbar["x"] + seekbar["width"] * 0.75, seekbar["y"] + seekbar["height"] / 2)
    preview = page.locator(".rh-preview")
    assert preview.is_visible()
    assert page.locator(".rh-preview-time").inner_text() == "0:07"
    image = page.locator(".rh-preview-image")
    assert image.evaluate("el => el.style.backgroundPosition") == "-160px 0px"
    assert image.evaluate("el => el.style.width") == "160px"


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


# A 1x1 grey sprite: enough for the browser to load it as the preview's background.
PIXEL_PNG = (
    b"\x89PNG\r\n\x1a\n"
    + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    + png_chunk(b"IDAT", zlib.compress(b"\x00\x80"))
    + png_chunk(b"IEND", b"")
)
