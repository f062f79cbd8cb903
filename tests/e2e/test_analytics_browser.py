"""Player analytics in a real browser (Debian's Chromium via Playwright, no downloads).

A real ``reelhouse serve`` transcodes a generated clip; ``/embed/{playback_id}`` plays it and
reports the view to ``/beacon``. Leaving the page must not lose the last beacon: the view's
row has its watch time, startup time and end; the data API and the dashboard's analytics
pages (drawn with uPlot) show it. A seek is reported, and a stall (the fourth segment held
back by the test) is one rebuffer of about the time it was held.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Request, Route
from sqlalchemy import select

from reelhouse.db.engine import create_engine, session_factory
from reelhouse.db.models import View

from .assets import add_signed_playback_id, public_id
from .browser import launch_chromium, needs_chromium, new_page, shot, sign_in
from .database import database_url
from .server import ServerProcess

pytestmark = needs_chromium

SERIES_BLUE = (36, 87, 214)  # analytics.js draws the first series in #2457d6
LATER_SEGMENT = re.compile(r"/seg_(\d{5})\.m4s")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch_chromium("hls.min.js", "uPlot.iife.min.js")


class Beacons:
    """Every beacon the page sends (decoded) and every answer it gets."""

    def __init__(self, page: Page) -> None:
        self.batches: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        page.on("request", self._sent)
        page.on(
            "response", lambda r: self.statuses.append(r.status) if _beacon(r.request) else None
        )

    def _sent(self, request: Request) -> None:
        if _beacon(request) and request.post_data:
            self.batches.append(json.loads(request.post_data))

    def events(self, view_id: str) -> list[dict[str, Any]]:
        """The view's events in ``seq`` order, each once (the last batches are resent)."""
        by_seq = {e["seq"]: e for b in self.batches if b["view_id"] == view_id for e in b["events"]}
        return [by_seq[seq] for seq in sorted(by_seq)]


def _beacon(request: Request) -> bool:
    return request.method == "POST" and request.url.endswith("/beacon")


async def _views(url: str, playback_id: str) -> list[View]:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            query = select(View).where(View.playback_id == playback_id)
            return list((await session.execute(query)).scalars())
    finally:
        await engine.dispose()


def views_of(server: ServerProcess, playback_id: str) -> list[View]:
    """The playback id's view rows (read in a thread: Playwright's loop owns this one)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _views(database_url(server), playback_id)).result()


def ended_views(server: ServerProcess, playback_id: str, view_id: str | None = None) -> list[View]:
    """The playback id's ended views (only ``view_id``, if given), once there is one: the
    last beacon may arrive a moment after the page is gone."""
    deadline = time.monotonic() + 20.0
    while time.monotonic() < deadline:
        rows = [
            r
            for r in views_of(server, playback_id)
            if r.ended and (view_id is None or str(r.id) == view_id)
        ]
        if rows:
            return rows
        time.sleep(0.25)
    pytest.fail(f"no ended view of {playback_id} {view_id or ''}")


def open_embed(page: Page, server: ServerProcess, playback_id: str) -> None:
    response = page.goto(f"{server.base_url}/embed/{playback_id}")
    assert response is not None and response.status == 200
    page.wait_for_function(
        "() => window.reelhousePlayer && window.reelhousePlayer.state === 'paused'"
    )


def play_muted(page: Page) -> str:
    """Start playback as a viewer would; the view id the player made for it."""
    page.evaluate("window.reelhousePlayer.video.muted = true; window.reelhousePlayer.play()")
    page.wait_for_function("() => window.reelhousePlayer.analytics.viewId !== null")
    view_id: str = page.evaluate("window.reelhousePlayer.analytics.viewId")
    return view_id


def metric(server: ServerProcess, name: str, asset_id: str) -> dict[str, Any]:
    with server.client() as api:
        response = api.get(
            f"/data/v1/metrics/{name}/overall",
            params={"timeframe[]": "24:hours", "filters[]": f"asset_id:{asset_id}"},
        )
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def tile(page: Page, metric_id: str) -> str:
    return page.locator(f'.rh-tile[data-metric="{metric_id}"] .rh-tile-value').inner_text()


# The elements reaching past the right edge of the screen (none on a page that fits a phone).
WIDER_THAN_THE_SCREEN = """() => [...document.querySelectorAll("body *")]
  .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1
    && !el.closest(".rh-table-wrap"))
  .map((el) => el.tagName + (el.id ? "#" + el.id : "") + "." + el.className)"""


def blue_pixels(page: Page, chart_id: str) -> int:
    """How many pixels of the chart's canvas are the first series' colour."""
    count: int = page.evaluate(
        """([id, rgb]) => {
          const canvas = document.querySelector(`.rh-chart[data-chart="${id}"] canvas`);
          const px = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
          let n = 0;
          for (let i = 0; i < px.length; i += 4) {
            if (Math.abs(px[i] - rgb[0]) < 24 && Math.abs(px[i + 1] - rgb[1]) < 24
                && Math.abs(px[i + 2] - rgb[2]) < 24 && px[i + 3] > 200) n++;
          }
          return n;
        }""",
        [chart_id, list(SERIES_BLUE)],
    )
    return count


def test_a_watched_view_reaches_the_data_api_and_the_dashboard(
    browser: Browser, media_server: ServerProcess, lesson: dict[str, Any]
) -> None:
    page = new_page(browser)
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    sign_in(page, media_server)
    beacons = Beacons(page)
    open_embed(page, media_server, public_id(lesson))
    view_id = play_muted(page)
    page.wait_for_function("() => window.reelhousePlayer.currentTime > 3", timeout=60_000)
    # Leave while playing: only the page-hide beacon can carry the watch time and the end.
    page.goto(media_server.base_url + "/")

    (row,) = ended_views(media_server, public_id(lesson), view_id)
    assert row.playback_id == public_id(lesson) and row.asset_id == lesson["id"]
    assert row.first_frame_ms is not None and 0 < row.first_frame_ms < 30_000
    assert 2.5 < row.watch_seconds < 60
    assert not row.errored and not row.exited_before_start
    assert row.player_name == "reelhouse" and row.ua_family == "Chrome"
    events = beacons.events(view_id)
    types = [e["type"] for e in events]
    assert types[0] == "viewstart" and types.count("firstframe") == 1, types
    assert set(types) <= {"viewstart", "firstframe", "qualitychange", "heartbeat"}, types
    for switch in (e for e in events if e["type"] == "qualitychange"):
        assert re.fullmatch(r"\d+p", switch["rendition"]), switch  # hls.js ABR during the view
    assert [e["seq"] for e in events] == list(range(len(events)))
    # The watch time and the end came in the page-hide beacon, after everything sent before.
    assert row.last_seq > events[-1]["seq"]
    assert set(beacons.statuses) <= {202}, beacons.statuses

    played = metric(media_server, "playing_time", lesson["id"])
    assert played["total_views"] >= 1 and played["value"] > 2500
    startup = metric(media_server, "video_startup_time", lesson["id"])
    assert startup["value"] is not None and startup["value"] > 0

    page.goto(media_server.base_url + "/analytics")
    assert page.locator("#empty-analytics").count() == 0
    assert int(tile(page, "views")) >= 1
    assert tile(page, "startup_p50").endswith(("ms", " s"))
    page.locator('#analytics-charts[data-drawn="7"]').wait_for()
    assert page.locator("#analytics-charts canvas").count() >= 7
    assert blue_pixels(page, "views") > 20, "the views chart drew no series"
    watched = page.locator(f'#analytics-videos-table tr[data-asset-id="{lesson["id"]}"]')
    assert int(watched.locator('td[data-label="Views"]').inner_text()) >= 1
    shot(page, "analytics")
    phone = new_page(browser, width=375, height=812)
    sign_in(phone, media_server)
    phone.goto(media_server.base_url + "/analytics")
    phone.locator('#analytics-charts[data-drawn="7"]').wait_for()
    wide = phone.evaluate(WIDER_THAN_THE_SCREEN)
    assert not wide, wide
    row = phone.locator(f'#analytics-videos-table tr[data-asset-id="{lesson["id"]}"]')
    assert row.locator('td[data-label="Views"]').is_visible()
    # The videos table stacks its cells instead of scrolling sideways.
    videos = phone.locator("#analytics-videos .rh-table-wrap")
    assert videos.evaluate("(wrap) => wrap.scrollWidth <= wrap.clientWidth")
    shot(phone, "analytics-phone")
    phone.context.close()

    watched.get_by_role("link").click()  # to the video's own analytics
    page.wait_for_url(f"{media_server.base_url}/analytics/assets/{lesson['id']}")
    assert int(tile(page, "views")) >= 1
    assert tile(page, "watch_time") != "0 s"
    page.locator('#analytics-charts[data-drawn="7"]').wait_for()
    shot(page, "analytics-asset")
    assert not [p for p in page.problems if "/beacon" in p], page.problems  # type: ignore[attr-defined]
    assert not [m for m in console if "Content Security Policy" in m], console


def test_a_seek_and_a_stall_are_reported(
    browser: Browser, media_server: ServerProcess, lesson: dict[str, Any]
) -> None:
    page = new_page(browser)
    beacons = Beacons(page)
    held: list[Route] = []

    def hold_later_segments(route: Route) -> None:
        found = LATER_SEGMENT.search(route.request.url)
        if found and int(found.group(1)) >= 4:
            held.append(route)  # answered once the player has stalled on it
        else:
            route.continue_()

    page.route("**/stream/**", hold_later_segments)
    open_embed(page, media_server, public_id(lesson))
    view_id = play_muted(page)
    page.wait_for_function("() => window.reelhousePlayer.currentTime > 0.5", timeout=60_000)
    # segments are 2, 2, 4, 2 s long: seek into the third (4-8 s), stall where the fourth starts
    page.evaluate("window.reelhousePlayer.seek(6.5)")
    page.wait_for_function(
        "() => document.getElementById('player').classList.contains('is-buffering')"
        " && window.reelhousePlayer.currentTime > 7",
        timeout=30_000,
    )
    stalled_at = time.monotonic()
    page.wait_for_timeout(1500)
    assert held, "the player never asked for the fourth segment"
    for route in held:
        route.continue_()
    page.wait_for_function("() => window.reelhousePlayer.currentTime > 8.5", timeout=30_000)
    stalled = time.monotonic() - stalled_at
    page.wait_for_function("() => window.reelhousePlayer.analytics.pending === 0")
    page.close(run_before_unload=True)

    (row,) = ended_views(media_server, public_id(lesson), view_id)
    assert row.rebuffer_count == 1
    assert 1.0 <= row.rebuffer_seconds <= stalled + 1.0, (row.rebuffer_seconds, stalled)
    assert row.rebuffering_since_ms is None
    types = [e["type"] for e in beacons.events(view_id)]
    assert types.count("seek") == 1
    seek = next(e for e in beacons.events(view_id) if e["type"] == "seek")
    assert seek["playhead"] == pytest.approx(6.5, abs=0.1)
    assert types.index("firstframe") < types.index("seek") < types.index("rebufferstart")
    assert types.index("rebufferstart") < types.index("rebufferend")


def test_a_failed_load_is_a_failed_view_and_an_unknown_id_sends_nothing(
    browser: Browser, media_server: ServerProcess, lesson: dict[str, Any]
) -> None:
    signed_id = add_signed_playback_id(media_server, lesson["id"])
    page = new_page(browser)
    page.goto(f"{media_server.base_url}/embed/{signed_id}")  # no token: the stream says 403
    page.wait_for_function("() => window.reelhousePlayer.state === 'error'")
    (row,) = ended_views(media_server, signed_id)
    assert row.errored and row.error_code == "forbidden"  # the stream's error type
    assert row.first_frame_ms is None and not row.exited_before_start
    assert row.asset_id == lesson["id"]

    beacons = Beacons(page)
    page.goto(f"{media_server.base_url}/embed/pb0000000000000000000000unknown")
    page.wait_for_function("() => window.reelhousePlayer.state === 'error'")
    page.wait_for_timeout(1500)  # past the batching delay
    page.goto(media_server.base_url + "/healthz")  # and the page-hide beacon
    assert beacons.batches == []


def test_failing_beacons_never_stop_playback_and_are_sent_again(
    browser: Browser, media_server: ServerProcess, lesson: dict[str, Any]
) -> None:
    page = new_page(browser)
    refused: list[str] = []

    def unavailable(route: Route) -> None:
        refused.append(route.request.url)
        route.fulfill(status=503, json={"error": {"type": "unavailable", "messages": []}})

    page.route("**/beacon", unavailable)
    open_embed(page, media_server, public_id(lesson))
    view_id = play_muted(page)
    page.wait_for_function("() => window.reelhousePlayer.currentTime > 2", timeout=60_000)
    assert refused, "the player sent no beacon"
    assert page.evaluate("window.reelhousePlayer.state") == "playing"
    assert page.evaluate("window.reelhousePlayer.analytics.pending") >= 2  # viewstart, firstframe
    assert not [r for r in views_of(media_server, public_id(lesson)) if str(r.id) == view_id]

    page.unroute("**/beacon")
    page.wait_for_function("() => window.reelhousePlayer.analytics.pending === 0", timeout=30_000)
    (row,) = [r for r in views_of(media_server, public_id(lesson)) if str(r.id) == view_id]
    assert row.first_frame_ms is not None and not row.ended
    page.context.close()
