"""``<mux-uploader>`` (npm ``@mux/mux-uploader``, which bundles ``@mux/upchunk``) in Debian's
Chromium, on a page from another origin, as a customer's web app uses it: the backend creates a
direct upload through the API and renders its URL into the element's ``endpoint`` attribute;
the user picks a file; the element sends it in 256 KiB chunked PUTs (308 until the last) and
says the upload is complete. The stored bytes must be the file's."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from .browser import ROOT, launch_chromium, needs_chromium, new_page
from .server import ServerProcess
from .sites import static_site
from .uploads_client import create_direct_upload, stored_bytes

pytestmark = needs_chromium

MUX_UPLOADER = ROOT / "node_modules" / "@mux" / "mux-uploader" / "dist" / "mux-uploader.js"
CHUNK_KIB = 256

PAGE = """<!doctype html><meta charset="utf-8"><title>Upload a lesson</title>
<script src="mux-uploader.js"></script>
<mux-uploader id="uploader" endpoint="{endpoint}" chunk-size="{chunk}"></mux-uploader>"""

# Registered before a file is chosen; records what the element reports.
LISTEN = """() => {
  const el = document.getElementById("uploader");
  window.report = { chunks: [], progress: 0, outcome: null };
  el.addEventListener("chunksuccess", (e) => report.chunks.push(e.detail.response.statusCode));
  el.addEventListener("progress", (e) => { report.progress = e.detail; });
  el.addEventListener("success", () => { report.outcome = "success"; });
  el.addEventListener("uploaderror", (e) => { report.outcome = "error: " + e.detail.message; });
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch_chromium()


@pytest.fixture
def uploader_site(tmp_path: Path) -> Path:
    if not MUX_UPLOADER.exists():
        pytest.fail("@mux/mux-uploader is missing: run `make install` (npm install)")
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(MUX_UPLOADER, site / "mux-uploader.js")
    return site


def test_mux_uploader_uploads_a_picked_file_cross_origin(
    browser: Browser, media_server: ServerProcess, uploader_site: Path, tmp_path: Path
) -> None:
    size = 3 * 1024 * 1024 + 4321
    video = tmp_path / "lesson.mp4"
    video.write_bytes(os.urandom(size))
    with static_site(uploader_site) as origin, media_server.client() as api:
        upload = create_direct_upload(api, cors_origin=origin)
        page_html = PAGE.format(endpoint=upload["url"], chunk=CHUNK_KIB)
        (uploader_site / "index.html").write_text(page_html)
        page = new_page(browser)
        page.goto(f"{origin}/index.html")
        page.evaluate(LISTEN)
        # The element's own file input, inside its (open) shadow root.
        page.locator("mux-uploader #hidden-file-input").set_input_files(str(video))
        page.wait_for_function("() => window.report.outcome !== null", timeout=60_000)
        report = page.evaluate("window.report")
        assert report["outcome"] == "success", report
        status = page.locator("mux-uploader #status-message")
        assert status.inner_text() == "Upload complete!"
        assert page.locator("mux-uploader").get_attribute("upload-complete") == ""
        done = api.get(f"/video/v1/uploads/{upload['id']}").json()["data"]
    chunks = report["chunks"]
    assert len(chunks) == 13  # 12 full 256 KiB chunks and the tail
    assert set(chunks[:-1]) == {308}, chunks
    assert chunks[-1] in (200, 201)
    assert report["progress"] == 100
    assert done["status"] == "asset_created", done
    assert done["asset_id"]
    assert stored_bytes(media_server.data_dir, str(upload["id"])) == video.read_bytes()
    assert page.problems == []  # type: ignore[attr-defined]
