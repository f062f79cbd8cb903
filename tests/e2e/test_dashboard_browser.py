"""The dashboard in a real browser (Debian's Chromium via Playwright, no downloads): sign in
with the bootstrap token, upload a generated clip through the upload page with tus-js-client,
watch it reach 100 % and turn ready in the library; a file over the limit is refused before
a byte moves."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from .browser import launch_chromium, needs_chromium, new_page, shot, sign_in
from .server import ServerProcess

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch_chromium("tus.min.js")


def test_upload_through_the_dashboard_until_ready(
    media_server: ServerProcess, browser: Browser, clip: Callable[[str], Path]
) -> None:
    page = new_page(browser)
    sign_in(page, media_server)
    assert page.locator("#empty-library").is_visible()
    shot(page, "empty-library")

    page.get_by_role("link", name="Upload", exact=True).click()
    page.set_input_files("#files", str(clip("small")))
    row = page.locator(".rh-upload").first
    page.locator('.rh-upload[data-state="done"]').wait_for(timeout=120_000)
    assert row.locator(".rh-upload-state").inner_text().startswith("100%")
    assert row.locator("progress").evaluate("el => el.value") == 100
    shot(page, "uploaded")

    page.goto(media_server.base_url + "/")
    asset = page.locator(".rh-asset").first
    asset.wait_for()
    # dashboard.js polls /dashboard/api/assets every 2 s and updates the row in place.
    page.locator('.rh-asset[data-status="ready"]').first.wait_for(timeout=180_000)
    assert asset.locator(".rh-status").inner_text() == "ready"
    assert asset.locator(".rh-resolution").inner_text() != "—"
    shot(page, "library-ready")

    asset.get_by_role("link").click()
    page.locator("iframe").wait_for()
    assert (page.locator("iframe").get_attribute("src") or "").startswith("/embed/")
    shot(page, "asset")
    assert page.problems == []  # type: ignore[attr-defined]


def test_phone_width_library(media_server: ServerProcess, browser: Browser) -> None:
    page = new_page(browser, 375, 740)
    sign_in(page, media_server)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375 + 1
    shot(page, "phone")


@pytest.fixture
def small_limit_server() -> Iterator[ServerProcess]:
    root = Path(tempfile.mkdtemp(prefix="reelhouse-e2e-dash-"))
    proc = ServerProcess(root, extra_env={"REELHOUSE_MAX_UPLOAD_BYTES": "1000000"})
    try:
        yield proc.start()
    finally:
        proc.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_file_over_the_limit_is_refused_before_upload(
    small_limit_server: ServerProcess, browser: Browser, tmp_path: Path
) -> None:
    big = tmp_path / "big.mp4"
    big.write_bytes(os.urandom(2_000_000))
    page = new_page(browser)
    sign_in(page, small_limit_server)
    page.goto(small_limit_server.base_url + "/upload")
    page.set_input_files("#files", str(big))
    row = page.locator('.rh-upload[data-state="refused"]')
    row.wait_for()
    message = row.locator(".rh-upload-state").inner_text()
    assert message == "big.mp4 is 1.9 MiB; the limit is 976.6 KiB (1000000 bytes)."
    shot(page, "refused")
    with small_limit_server.client() as api:
        uploads = api.get("/video/v1/uploads").json()["data"]
    assert uploads == []
