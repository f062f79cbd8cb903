"""The dashboard in a real browser (Debian's Chromium via Playwright, no downloads): sign in
with the bootstrap token, upload a generated clip through the upload page with tus-js-client,
watch it reach 100 % and turn ready in the library; a file over the limit or clearly not a video
is refused before a byte moves; a reload mid-upload resumes from the server's offset; speed and
time left follow the page's clock; a 429 is waited out (and said when it outlasts the retries), a
lost connection retried and an expired upload started again."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, FilePayload, Page, Request, Route
from playwright.sync_api import Error as PlaywrightError

from .browser import launch_chromium, needs_chromium, new_page, shot, sign_in
from .server import ServerProcess
from .uploads_client import TUS, stored_bytes

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


CHUNK = 8 * 1024 * 1024  # upload.js's chunk size
CREATE = "/dashboard/api/uploads"


@pytest.fixture(scope="module")
def upload_server() -> Iterator[ServerProcess]:
    """A server of this module's own for the upload page's tests, which count uploads."""
    root = Path(tempfile.mkdtemp(prefix="reelhouse-e2e-uploads-"))
    proc = ServerProcess(root)
    try:
        yield proc.start()
    finally:
        proc.stop()
        shutil.rmtree(root, ignore_errors=True)


def upload_ids(server: ServerProcess) -> set[str]:
    with server.client() as api:
        return {str(u["id"]) for u in api.get("/video/v1/uploads").json()["data"]}


def is_upload_url(url: str) -> bool:
    return urlsplit(url).path.startswith("/upload/")


def upload_page(
    browser: Browser, server: ServerProcess, *, still_clock: bool = False
) -> tuple[Page, list[Request]]:
    """A signed-in upload page and the list its upload requests (creating and sending) go to.
    With ``still_clock`` the page's clock stands still once it has loaded: timers fire and
    Date.now() moves only when the test runs the clock."""
    page = new_page(browser)
    if still_clock:
        page.clock.install()
    sign_in(page, server)
    page.goto(server.base_url + "/upload")
    if still_clock:
        page.clock.pause_at(page.evaluate("Date.now()") / 1000 + 1)
    sent: list[Request] = []
    page.on(
        "request",
        lambda r: sent.append(r) if is_upload_url(r.url) or r.url.endswith(CREATE) else None,
    )
    return page, sent


def routed(page: Page, held: list[Route], count: int) -> Route:
    """The ``count``-th held route, once its handler has run (it runs while Playwright is
    waited on, so this waits on Playwright until then)."""
    for _ in range(1000):
        if len(held) >= count:
            return held[count - 1]
        page.wait_for_timeout(10)
    raise AssertionError(f"only {len(held)} requests were held")


def done_row(page: Page, name: str) -> None:
    row = page.locator(".rh-upload", has_text=name)
    row.and_(page.locator('[data-state="done"]')).wait_for(timeout=60_000)
    assert row.locator(".rh-upload-state").inner_text().startswith("100%")
    assert row.locator("progress").evaluate("el => el.value") == 100


def test_reload_mid_upload_resumes_from_the_servers_offset(
    upload_server: ServerProcess, browser: Browser, tmp_path: Path
) -> None:
    data = os.urandom(3 * CHUNK)
    movie = tmp_path / "reload.mp4"
    movie.write_bytes(data)
    before = upload_ids(upload_server)
    page, sent = upload_page(browser, upload_server)
    patches: list[Route] = []

    def hold_the_second_patch(route: Route) -> None:
        if route.request.method == "PATCH":
            patches.append(route)
            if len(patches) == 2:
                return  # never answered: the page is reloaded while it waits
        route.continue_()

    page.route(is_upload_url, hold_the_second_patch)
    second_chunk = str(CHUNK)
    with page.expect_request(
        lambda r: r.method == "PATCH" and r.headers.get("upload-offset") == second_chunk
    ) as second:
        page.set_input_files("#files", str(movie))
    upload_url = second.value.url
    # What the server holds now, asked directly: the first chunk, acknowledged.
    head = httpx.head(upload_url, headers=TUS)
    assert head.status_code == 200, head.text
    acknowledged = int(head.headers["Upload-Offset"])
    assert acknowledged == CHUNK
    assert 33 <= page.locator(".rh-upload progress").evaluate("el => el.value") < 100

    page.reload()
    with contextlib.suppress(PlaywrightError):  # the reload may have ended it already
        routed(page, patches, 2).abort()
    mark = len(sent)
    # Browsers cannot keep a File across a reload; the fingerprint finds the upload again.
    page.set_input_files("#files", str(movie))
    done_row(page, "reload.mp4")

    after = sent[mark:]
    assert [(r.method, r.url) for r in after if r.method != "PATCH"] == [("HEAD", upload_url)]
    offsets = [int(r.headers["upload-offset"]) for r in after if r.method == "PATCH"]
    assert offsets == [acknowledged, 2 * CHUNK]
    assert all(r.url == upload_url for r in after)
    upload_id = upload_url.rsplit("/", 1)[-1]
    assert upload_ids(upload_server) - before == {upload_id}
    assert stored_bytes(upload_server.data_dir, upload_id) == data
    shot(page, "upload-resumed")


def test_not_a_video_is_refused_before_upload(
    upload_server: ServerProcess, browser: Browser
) -> None:
    before = upload_ids(upload_server)
    page, sent = upload_page(browser, upload_server)
    notes: FilePayload = {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"list\n"}
    # Chromium on Linux guesses .ts as a Qt translation file: the name outweighs the type.
    take: FilePayload = {
        "name": "take.ts",
        "mimeType": "text/vnd.trolltech.linguist",
        "buffer": b"G" * 188,
    }
    page.set_input_files("#files", [notes, take])
    refused = page.locator('.rh-upload[data-state="refused"]')
    refused.wait_for()
    assert refused.locator(".rh-upload-state").inner_text() == (
        "notes.txt is not a video file (text/plain). "
        "Choose a video such as .mp4, .mov, .mkv or .webm."
    )
    assert refused.locator(".rh-upload-numbers").inner_text() == "Nothing was sent."
    done_row(page, "take.ts")
    shot(page, "not-a-video")
    created = [r for r in sent if r.url.endswith(CREATE)]
    assert [(r.post_data_json or {}).get("name") for r in created] == ["take.ts"]
    assert len(upload_ids(upload_server) - before) == 1
    assert page.problems == []  # type: ignore[attr-defined]


def test_rate_limited_chunk_is_retried_after_retry_after(
    upload_server: ServerProcess, browser: Browser, tmp_path: Path
) -> None:
    data = os.urandom(3 * 1024 * 1024)
    movie = tmp_path / "busy.mp4"
    movie.write_bytes(data)
    page, _ = upload_page(browser, upload_server, still_clock=True)
    refused: list[str] = []

    def refuse_the_first_patch(route: Route) -> None:
        if route.request.method == "PATCH" and not refused:
            refused.append(route.request.url)
            route.fulfill(status=429, headers={"Retry-After": "3", **TUS}, body="")
            return
        route.continue_()

    page.route(is_upload_url, refuse_the_first_patch)
    page.set_input_files("#files", str(movie))
    row = page.locator(".rh-upload")
    state = row.locator(".rh-upload-state")
    waiting = "Too many uploads right now: retrying in 3 s"
    page.locator(".rh-upload-state", has_text=waiting).wait_for()
    assert row.get_attribute("data-state") == "retrying"
    assert row.locator(".rh-upload-eta").is_hidden()
    shot(page, "upload-rate-limited")
    with page.expect_request(lambda r: r.method == "HEAD") as retry:
        page.clock.run_for(1000)
        assert state.inner_text() == "Too many uploads right now: retrying in 2 s"
        page.clock.run_for(2000)
    assert retry.value.url == refused[0]
    done_row(page, "busy.mp4")
    upload_id = refused[0].rsplit("/", 1)[-1]
    assert stored_bytes(upload_server.data_dir, upload_id) == data
    assert page.problems == [f"429 {refused[0]}"]  # type: ignore[attr-defined]


def test_speed_and_time_left_follow_the_last_seconds_of_progress(
    upload_server: ServerProcess, browser: Browser, tmp_path: Path
) -> None:
    movie = tmp_path / "slow.mp4"
    movie.write_bytes(os.urandom(3 * CHUNK))
    # The still clock lets the test decide how long each chunk took.
    page, _ = upload_page(browser, upload_server, still_clock=True)
    held: list[Route] = []

    def hold_later_patches(route: Route) -> None:
        if route.request.method == "PATCH" and route.request.headers["upload-offset"] != "0":
            held.append(route)
            return
        route.continue_()

    page.route(is_upload_url, hold_later_patches)
    row = page.locator(".rh-upload")
    eta = row.locator(".rh-upload-eta")
    with page.expect_request(lambda r: r.method == "PATCH" and r.headers["upload-offset"] != "0"):
        page.set_input_files("#files", str(movie))
    assert eta.is_hidden()  # the first chunk took no time at all: no speed yet
    page.clock.run_for(60_000)
    with page.expect_request(
        lambda r: r.method == "PATCH" and r.headers["upload-offset"] == str(2 * CHUNK)
    ):
        routed(page, held, 1).continue_()
    # 8 MiB in the last 60 s, 8 MiB to go.
    assert row.locator(".rh-upload-numbers").inner_text() == "16.0 MiB of 24.0 MiB · 136.5 KiB/s"
    assert eta.inner_text() == "about 1 min left"
    shot(page, "upload-eta")
    routed(page, held, 2).continue_()
    done_row(page, "slow.mp4")
    assert eta.is_hidden()


def test_rate_limit_outlasting_the_retries_says_so(
    upload_server: ServerProcess, browser: Browser
) -> None:
    page, _ = upload_page(browser, upload_server, still_clock=True)
    refused: list[str] = []

    def refuse_every_patch(route: Route) -> None:
        if route.request.method == "PATCH":
            refused.append(route.request.url)
            route.fulfill(status=429, headers={"Retry-After": "1", **TUS}, body="")
            return
        route.continue_()

    page.route(is_upload_url, refuse_every_patch)
    clip: FilePayload = {"name": "queue.mp4", "mimeType": "video/mp4", "buffer": b"x" * 1000}
    state = page.locator(".rh-upload-state")
    with page.expect_request(lambda r: r.method == "PATCH"):
        page.set_input_files("#files", [clip])
    for _ in range(6):  # upload.js retries six times in a row
        page.locator('.rh-upload[data-state="retrying"]').wait_for()
        with page.expect_request(lambda r: r.method == "PATCH"):
            page.clock.run_for(20_000)
    page.locator('.rh-upload[data-state="failed"]').wait_for()
    assert state.inner_text() == "Rate limited by the server: try again in a minute"
    assert page.get_by_role("button", name="Retry").is_visible()
    assert len(refused) == 7


def test_lost_connection_is_retried_and_an_expired_upload_starts_again(
    upload_server: ServerProcess, browser: Browser
) -> None:
    data = os.urandom(100_000)
    before = upload_ids(upload_server)
    page, sent = upload_page(browser, upload_server)
    heads: list[Route] = []
    patches: list[str] = []

    def fail_then_expire(route: Route) -> None:
        method = route.request.method
        if method == "PATCH":
            patches.append(route.request.url)
            if len(patches) == 1:
                route.abort("connectionfailed")
                return
            if len(patches) == 2:
                route.fulfill(status=410, headers=TUS, body="")
                return
        if method == "HEAD" and not heads:
            heads.append(route)  # the retry, held while the row says why it is retrying
            return
        route.continue_()

    page.route(is_upload_url, fail_then_expire)
    clip: FilePayload = {"name": "gone.mp4", "mimeType": "video/mp4", "buffer": data}
    row = page.locator(".rh-upload")
    state = row.locator(".rh-upload-state")
    with page.expect_request(lambda r: r.method == "HEAD"):
        page.set_input_files("#files", [clip])
    routed(page, heads, 1)
    assert state.inner_text() == "Connection lost: retrying…"
    assert row.get_attribute("data-state") == "retrying"
    heads[0].continue_()

    page.locator('.rh-upload[data-state="expired"]').wait_for()
    assert state.inner_text() == "This upload expired or was cancelled: start it again"
    page.get_by_role("button", name="Start again").click()
    done_row(page, "gone.mp4")
    created = [r.url for r in sent if r.url.endswith(CREATE)]
    assert len(created) == 2
    new = upload_ids(upload_server) - before
    assert len(new) == 2
    last = patches[-1].rsplit("/", 1)[-1]
    assert last in new and last != patches[0].rsplit("/", 1)[-1]
    assert stored_bytes(upload_server.data_dir, last) == data
