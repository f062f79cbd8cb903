"""The library and the asset page in a real browser (Debian's Chromium via Playwright) against
a real ``reelhouse serve`` with its worker: a clip uploaded through the API is found by search
and by the status filter, its page shows renditions, a signed playback id is added, a signing
key made and signed links minted that the server plays, a static rendition is asked for and
downloaded, a caption file uploaded until its track is ready, and the video deleted through the
confirm step. Every form control has a label; the pages fit a 375 px wide phone."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page

from .assets import upload_and_wait
from .browser import launch_chromium, needs_chromium, new_page, shot, sign_in
from .server import ServerProcess

pytestmark = needs_chromium

TITLE = "Harbour Sunset.mp4"
SRT = (
    "1\r\n00:00:00,200 --> 00:00:01,500\r\nGulls over the water\r\n\r\n"
    "2\r\n00:00:01,500 --> 00:00:03,500\r\n[waves]\r\n"
)
# Inputs, selects, textareas and buttons with no accessible name (none should be found).
UNLABELLED = """() => Array.from(document.querySelectorAll(
  'input:not([type=hidden]), select, textarea, button')).filter(el => {
    if (el.closest('[hidden]')) return false;
    if (el.getAttribute('aria-label')) return false;
    if (el.tagName === 'BUTTON') return !el.textContent.trim();
    return !(el.labels && el.labels.length);
  }).map(el => el.outerHTML.slice(0, 120))"""
LONG = 150_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch_chromium("hls.min.js")


@pytest.fixture(scope="module")
def asset(
    media_server: ServerProcess,
    clip: Callable[[str], Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    """A ready asset uploaded over tus as ``Harbour Sunset.mp4`` (its title in the library)."""
    named = tmp_path_factory.mktemp("named") / TITLE
    shutil.copyfile(clip("small"), named)
    made = upload_and_wait(media_server, named)
    assert made["status"] == "ready", made
    return made


def open_signed_in(browser: Browser, server: ServerProcess, width: int = 1280) -> Page:
    page = new_page(browser, width, 900)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, server)
    return page


def rows(page: Page) -> list[str]:
    return page.locator(".rh-asset .rh-asset-title").all_inner_texts()


def test_find_the_video_by_search_and_status(
    media_server: ServerProcess, browser: Browser, asset: dict[str, Any]
) -> None:
    page = open_signed_in(browser, media_server)
    assert TITLE in rows(page)
    row = page.locator(f'.rh-asset[data-asset-id="{asset["id"]}"]')
    thumb = row.locator("img.rh-thumb")
    thumb.wait_for()
    # Made on demand by the image surface: wait until it has loaded and decoded.
    assert thumb.evaluate("img => img.decode().then(() => img.naturalWidth)") == 160
    shot(page, "library")

    page.get_by_label("Search").fill("harbour sun")
    page.get_by_role("button", name="Find").click()
    page.wait_for_url("**/?q=harbour+sun*")
    assert rows(page) == [TITLE]
    page.get_by_label("Search").fill("no such video anywhere")
    page.get_by_role("button", name="Find").click()
    page.locator("#no-matches").wait_for()
    assert rows(page) == []
    shot(page, "library-no-matches")

    page.get_by_label("Search").fill("")
    page.get_by_label("Status").select_option("errored")
    page.get_by_role("button", name="Find").click()
    page.locator("#no-matches").wait_for()
    page.get_by_label("Status").select_option("ready")
    page.get_by_role("button", name="Find").click()
    page.wait_for_url("**status=ready*")
    assert TITLE in rows(page)
    assert page.evaluate(UNLABELLED) == []
    assert page.problems == []  # type: ignore[attr-defined]


def test_signed_links_downloads_and_captions(
    media_server: ServerProcess, browser: Browser, asset: dict[str, Any], tmp_path: Path
) -> None:
    page = open_signed_in(browser, media_server)
    page.goto(f"{media_server.base_url}/?q=harbour")
    page.get_by_role("link", name=TITLE).click()
    page.wait_for_url(f"**/assets/{asset['id']}")
    assert page.locator("h1").inner_text() == TITLE
    assert page.locator("#renditions tbody tr").count() >= 2  # a video rung and the audio
    page.locator("#player iframe").wait_for()
    shot(page, "asset-detail")

    # Copy the public stream URL.
    public_id = asset["playback_ids"][0]["id"]
    page.get_by_role("button", name=f"Copy stream URL of {public_id}").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == f"{media_server.base_url}/stream/{public_id}.m3u8"

    # A signed playback id, a new signing key, and links that play.
    page.get_by_label("New playback id").select_option("signed")
    page.get_by_role("button", name="Add playback id").click()
    page.locator("#notice").wait_for()
    assert page.locator("#notice").inner_text() == "Playback id added."
    page.get_by_role("button", name="Create a signing key").click()
    page.locator("#new-key").wait_for()
    assert len(page.locator("#new-key-private").input_value()) > 1000
    page.get_by_label("Valid for").select_option("3600")
    page.get_by_role("button", name="Make signed links").click()
    page.locator("#signed-urls-out").wait_for()
    stream_url = page.locator("#signed-stream").input_value()
    thumbnail_url = page.locator("#signed-thumbnail").input_value()
    shot(page, "signed-links")
    with httpx.Client(timeout=30) as http:
        playlist = http.get(stream_url)
        assert playlist.status_code == 200, playlist.text
        assert playlist.text.startswith("#EXTM3U")
        assert http.get(thumbnail_url).headers["content-type"] == "image/webp"
        unsigned = http.get(stream_url.split("?", 1)[0])
        assert unsigned.status_code == 403

    # A static rendition, made by the worker while the page waits, then downloaded.
    page.get_by_label("Make a file").select_option("highest")
    page.get_by_role("button", name="Request").click()
    page.locator("#notice").wait_for()
    ready = page.locator('#static-files li[data-name="highest.mp4"][data-status="ready"]')
    ready.wait_for(timeout=LONG)
    link = ready.get_by_role("link", name="Download highest.mp4").get_attribute("href")
    assert link is not None
    with httpx.Client(base_url=media_server.base_url, timeout=30) as http:
        download = http.get(link)
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith('attachment; filename="Harbour')
    assert download.content[4:8] == b"ftyp"

    # A caption file, checked, stored and turned into a ready track.
    captions = tmp_path / "harbour.en.srt"
    captions.write_text(SRT)
    page.set_input_files("#caption-file", str(captions))
    page.get_by_label("Language code").fill("en")
    page.get_by_label("Name shown in the player (optional)").fill("English")
    page.get_by_role("button", name="Upload caption file").click()
    page.wait_for_url("**done=caption-added*")
    page.locator('.rh-track--text[data-status="ready"]').wait_for(timeout=LONG)
    assert "English (en)" in page.locator(".rh-track--text").inner_text()
    shot(page, "captions")
    assert page.evaluate(UNLABELLED) == []
    assert page.problems == []  # type: ignore[attr-defined]


def test_a_bad_caption_file_is_refused_on_the_page(
    media_server: ServerProcess, browser: Browser, asset: dict[str, Any], tmp_path: Path
) -> None:
    page = open_signed_in(browser, media_server)
    page.goto(f"{media_server.base_url}/assets/{asset['id']}")
    notes = tmp_path / "notes.srt"
    notes.write_text("these are my notes, not captions\n")
    page.set_input_files("#caption-file", str(notes))
    page.get_by_label("Language code").fill("en")
    page.get_by_role("button", name="Upload caption file").click()
    error = page.locator("#caption-error")
    error.wait_for()
    assert error.inner_text().startswith("The caption file is not valid SRT or WebVTT: line 1")
    shot(page, "caption-refused")


def test_phone_width_pages(
    media_server: ServerProcess, browser: Browser, asset: dict[str, Any]
) -> None:
    page = open_signed_in(browser, media_server, width=375)
    assert page.evaluate("document.documentElement.scrollWidth") <= 376
    page.goto(f"{media_server.base_url}/assets/{asset['id']}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 376
    shot(page, "asset-phone")


def test_delete_through_the_confirm_step(
    media_server: ServerProcess, browser: Browser, clip: Callable[[str], Path]
) -> None:
    doomed = upload_and_wait(media_server, clip("small"))
    page = open_signed_in(browser, media_server)
    page.goto(f"{media_server.base_url}/assets/{doomed['id']}")
    page.get_by_role("link", name="Delete video…").click()
    page.wait_for_url(f"**/assets/{doomed['id']}/delete")
    shot(page, "delete-confirm")
    page.get_by_role("link", name="Cancel, keep it").click()
    page.wait_for_url(f"**/assets/{doomed['id']}")
    page.get_by_role("link", name="Delete video…").click()
    page.get_by_role("button", name="Delete permanently").click()
    page.locator("#deleted-notice").wait_for()
    assert doomed["id"] in page.locator("#deleted-notice").inner_text()
    assert page.locator(f'.rh-asset[data-asset-id="{doomed["id"]}"]').count() == 0
    with media_server.client() as api:
        assert api.get(f"/video/v1/assets/{doomed['id']}").status_code == 404
    assert page.problems == []  # type: ignore[attr-defined]
