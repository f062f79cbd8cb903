"""The dashboard's analytics pages in-process: the permission gate, the numbers of a table of
seeded views (summary, videos table, per-day table, chart JSON), the period picker, the
videos' pages, one video's page, the empty state, and the pure formatting, period and paging
arithmetic."""

from __future__ import annotations

import html
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse import ids
from reelhouse.analytics.queries import Aggregate, ViewMetrics
from reelhouse.analytics.rollups import recompute_day
from reelhouse.db.models import Asset, Environment, View
from reelhouse.web.analytics_pages import (
    chart_series,
    chosen_days,
    chosen_page,
    day_rows,
    format_ms,
    format_percent,
    format_watch,
    period_of,
    tiles,
    video_rows,
    videos_link,
)

from .dashboard_app import Clock, dashboard_client, dashboard_deps, make_token, sign_in

NOW = datetime(2027, 3, 20, 12, 0, tzinfo=UTC)
TODAY = NOW.date()


@pytest.fixture
async def client(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[httpx.AsyncClient]:
    """The dashboard with its analytics pages, at ``NOW``."""
    clock = Clock(NOW)
    deps = dashboard_deps(sessions, clock, metrics=ViewMetrics(sessions, clock))
    async with dashboard_client(deps) as http:
        yield http


@dataclass(frozen=True)
class Seen:
    """One seeded view: days before today, asset, viewer hash, startup, watch, rebuffer."""

    days_ago: int
    asset: str
    viewer: str
    first_frame_ms: int | None
    watch: float = 0.0
    rebuffer: float = 0.0
    errored: bool = False


async def seed(
    sessions: async_sessionmaker[AsyncSession], environment_id: str, table: list[Seen]
) -> None:
    async with sessions.begin() as s:
        for row in table:
            started = NOW - timedelta(days=row.days_ago, hours=1)
            s.add(
                View(
                    id=uuid.uuid4(),
                    environment_id=environment_id,
                    asset_id=row.asset,
                    playback_id="pb",
                    viewer_hash=row.viewer,
                    started_at=started,
                    last_beacon_at=started + timedelta(minutes=1),
                    first_frame_ms=row.first_frame_ms,
                    watch_seconds=row.watch,
                    rebuffer_seconds=row.rebuffer,
                    errored=row.errored,
                    ended=True,
                    exited_before_start=row.first_frame_ms is None and not row.errored,
                )
            )


async def roll_up(sessions: async_sessionmaker[AsyncSession], *days_ago: int) -> None:
    for n in days_ago:
        async with sessions.begin() as s:
            await recompute_day(s, TODAY - timedelta(days=n), now=NOW)


async def add_asset(
    sessions: async_sessionmaker[AsyncSession],
    environment_id: str,
    asset_id: str,
    *,
    title: str | None = None,
    passthrough: str | None = None,
) -> None:
    async with sessions.begin() as s:
        s.add(
            Asset(
                id=asset_id,
                environment_id=environment_id,
                status="ready",
                ingest_type="on_demand_direct_upload",
                settings={"meta": {"title": title}} if title else {},
                passthrough=passthrough,
                created_at=NOW,
                updated_at=NOW,
            )
        )


@dataclass(frozen=True)
class Library:
    environment_id: str
    a: str  # a video with three views in the last week and one three weeks ago
    b: str  # a video with a failed view and an exit before start, today


@pytest.fixture
async def library(sessions: async_sessionmaker[AsyncSession], environment_id: str) -> Library:
    a, b = ids.new_id(), ids.new_id()
    await add_asset(sessions, environment_id, a, title="Intro <lesson>")
    await add_asset(sessions, environment_id, b, passthrough="b-roll")
    await seed(
        sessions,
        environment_id,
        [
            Seen(0, a, "h1", 400, watch=30.0, rebuffer=2.0),
            Seen(0, a, "h2", 800, watch=10.0),
            Seen(0, b, "h1", None, errored=True),
            Seen(0, b, "h4", None),  # left before the first frame
            Seen(3, a, "h3", 1200, watch=60.0),
            Seen(20, a, "h5", 500, watch=20.0),
        ],
    )
    await roll_up(sessions, 3, 20)
    return Library(environment_id, a, b)


def tile(page: str, metric: str) -> str:
    found = re.search(
        rf'data-metric="{metric}">\s*<dt>[^<]*</dt>\s*<dd class="rh-tile-value">([^<]*)</dd>', page
    )
    assert found, f"no {metric} tile in the page"
    return html.unescape(found.group(1))


def day_cells(page: str, day: date) -> list[str]:
    found = re.search(rf'<tr data-day="{day.isoformat()}">(.*?)</tr>', page, re.S)
    assert found, f"no row for {day}"
    return [html.unescape(c) for c in re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", found.group(1))]


def video_cells(page: str) -> list[list[str]]:
    """The videos table's rows: the video's link text, then each number."""
    table = re.search(
        r'<table class="rh-stack" id="analytics-videos-table">(.*?)</table>', page, re.S
    )
    assert table, "no videos table in the page"
    rows = re.findall(r"<tr data-asset-id=[^>]*>(.*?)</tr>", table.group(1), re.S)
    return [
        [html.unescape(re.search(r"<a [^>]*>([^<]*)</a>", row).group(1))]  # type: ignore[union-attr]
        + [html.unescape(c) for c in re.findall(r"<td [^>]*>([^<]*)</td>", row)]
        for row in rows
    ]


def count(page: str) -> str:
    """The sentence above the videos table, its whitespace collapsed."""
    found = re.search(r'<p class="rh-help" id="videos-count">(.*?)</p>', page, re.S)
    assert found, "no videos count in the page"
    return " ".join(found.group(1).split())


def video_links(page: str) -> list[str]:
    return re.findall(r'<a class="rh-asset-title" href="([^"]*)"', page)


def series(page: str) -> dict[str, Any]:
    found = re.search(r'data-series="([^"]*)"', page)
    assert found, "no chart data in the page"
    data: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return data


def chart(data: dict[str, Any], chart_id: str) -> list[list[Any]]:
    found = next(c for c in data["charts"] if c["id"] == chart_id)
    return [s["values"] for s in found["series"]]


# --- the gate ---------------------------------------------------------------------------------


async def test_signed_out_goes_to_signin(client: httpx.AsyncClient) -> None:
    for path in ("/analytics", "/analytics/assets/abcdefghijklmnopqrstuv"):
        response = await client.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == "/signin"


async def test_a_token_without_data_read_is_refused(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    library: Library,
) -> None:
    token = await make_token(sessions, library.environment_id, ["video:read", "video:write"])
    await sign_in(client, token)
    for path in ("/analytics", f"/analytics/assets/{library.a}"):
        response = await client.get(path)
        assert response.status_code == 403
        assert "lacks the <code>data:read</code> permission" in response.text
        assert "analytics-summary" not in response.text


# --- the numbers ------------------------------------------------------------------------------


async def test_overview_shows_the_last_seven_days(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], library: Library
) -> None:
    await sign_in(client, await make_token(sessions, library.environment_id, ["data:read"]))
    response = await client.get("/analytics")
    assert response.status_code == 200
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    page = response.text
    assert '<a href="/analytics" aria-current="page">Analytics</a>' in page
    assert 'href="?days=7" aria-current="page"' in page
    assert "UTC days 2027-03-14 to 2027-03-20" in page
    assert tile(page, "views") == "5"
    assert tile(page, "unique_viewers") == "4"  # h1 twice today counts once
    assert tile(page, "watch_time") == "1 min 40 s"
    assert tile(page, "startup_p50") == "800 ms"
    assert tile(page, "startup_p95") == "1.16 s"  # percentile_cont over 400, 800, 1200
    assert tile(page, "rebuffer") == "2.0 %"
    assert tile(page, "failures") == "20.0 %"
    assert tile(page, "exits") == "1"
    assert "20.0 % of views" in page
    assert day_cells(page, TODAY) == [
        "2027-03-20", "4", "3", "40 s", "600 ms", "780 ms", "5.0 %", "25.0 %", "1"
    ]  # fmt: skip
    assert day_cells(page, TODAY - timedelta(days=3))[1:4] == ["1", "1", "1 min 00 s"]
    assert day_cells(page, TODAY - timedelta(days=1))[1:] == ["0", "0", "0 s"] + ["—"] * 4 + ["0"]
    data = series(page)
    first = int(datetime(2027, 3, 14, tzinfo=UTC).timestamp())
    assert data["days"] == [first + n * 86400 for n in range(7)]
    assert chart(data, "views") == [[0, 0, 0, 1, 0, 0, 4]]
    assert chart(data, "startup") == [
        [None, None, None, 1200.0, None, None, 600.0],
        [None, None, None, 1200.0, None, None, 780.0],
    ]
    assert chart(data, "failures") == [[None, None, None, 0.0, None, None, 25.0]]
    assert '<script src="/static/vendor/uPlot.iife.min.js"></script>' in page
    assert "<script>" not in page


async def test_the_videos_table_lists_the_watched_videos_by_views(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], library: Library
) -> None:
    await sign_in(client, await make_token(sessions, library.environment_id, ["data:read"]))
    gone = ids.new_id()  # a deleted video's views still count
    await seed(sessions, library.environment_id, [Seen(2, gone, "h9", 300, watch=5.0)])
    page = (await client.get("/analytics")).text
    assert '<h2 id="videos-title">Videos</h2>' in page
    assert count(page) == "3 videos watched in the period, most viewed first."
    assert video_cells(page) == [
        ["Intro <lesson>", "3", "1 min 40 s", "800 ms", "2.0 %", "0.0 %"],
        ["b-roll", "2", "0 s", "—", "—", "50.0 %"],
        [gone, "1", "5 s", "300 ms", "0.0 %", "0.0 %"],
    ]
    assert video_links(page) == [
        f"/analytics/assets/{library.a}",
        f"/analytics/assets/{library.b}",
        f"/analytics/assets/{gone}",
    ]
    assert f"<code>{library.a}</code>" in page  # titled: the id is shown under the title
    assert page.count('<span class="rh-tag">deleted</span>') == 1
    assert 'aria-label="Pages of videos"' not in page  # one page
    for cell in ("Video", "Views", "Watch time", "Startup, median", "Rebuffering", "Failures"):
        assert f'data-label="{cell}"' in page  # labels for the stacked phone layout
    assert "<script>" not in page and "style=" not in page
    month = (await client.get("/analytics", params={"days": "30"})).text
    assert video_cells(month)[0][:2] == ["Intro <lesson>", "4"]


async def test_the_videos_table_pages_by_twenty(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], environment_id: str
) -> None:
    await sign_in(client, await make_token(sessions, environment_id, ["data:read"]))
    watched = sorted(ids.new_id() for _ in range(22))
    top = watched[0]
    await seed(
        sessions,
        environment_id,
        [Seen(0, top, "x", 100), Seen(1, top, "y", 100)]
        + [Seen(0, asset, "x", 100) for asset in watched[1:]],
    )
    first = (await client.get("/analytics", params={"days": "30"})).text
    links = video_links(first)
    assert len(links) == 20
    assert links[:2] == [f"/analytics/assets/{top}", f"/analytics/assets/{watched[1]}"]
    assert count(first) == "Videos 1 to 20 of 22 watched in the period, most viewed first."
    assert '<a href="/analytics?days=30&amp;page=2" rel="next">' in first
    assert 'rel="prev"' not in first
    second = (await client.get("/analytics", params={"days": "30", "page": "2"})).text
    assert video_links(second) == [f"/analytics/assets/{a}" for a in watched[20:]]
    assert '<a href="/analytics?days=30" rel="prev">' in second
    assert count(second).startswith("Videos 21 to 22 of 22 watched")
    assert 'rel="next"' not in second
    assert tile(second, "views") == "23"  # the summary is the whole period's still
    beyond = (await client.get("/analytics", params={"page": "9"})).text
    assert 'id="no-more-videos"' in beyond and video_links(beyond) == []
    assert '<a href="/analytics" rel="prev">' not in beyond
    assert '<a href="/analytics?page=8" rel="prev">' in beyond


async def test_thirty_days_and_a_bad_period(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], library: Library
) -> None:
    await sign_in(client, await make_token(sessions, library.environment_id, ["data:read"]))
    page = (await client.get("/analytics", params={"days": "30"})).text
    assert 'href="?days=30" aria-current="page"' in page
    assert tile(page, "views") == "6"
    assert len(series(page)["days"]) == 30
    assert day_cells(page, TODAY - timedelta(days=20))[1] == "1"
    fallback = (await client.get("/analytics", params={"days": "9999"})).text
    assert tile(fallback, "views") == "5"


async def test_one_video(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], library: Library
) -> None:
    await sign_in(client, await make_token(sessions, library.environment_id, ["data:read"]))
    page = (await client.get(f"/analytics/assets/{library.a}")).text
    assert f'<a href="/assets/{library.a}">Open the video</a>' in page
    assert 'id="analytics-videos"' not in page  # the table is the overview's
    assert tile(page, "views") == "3"
    assert tile(page, "watch_time") == "1 min 40 s"
    assert tile(page, "failures") == "0.0 %"
    assert chart(series(page), "views") == [[0, 0, 0, 1, 0, 0, 2]]
    other = (await client.get(f"/analytics/assets/{library.b}")).text
    assert tile(other, "views") == "2"
    assert tile(other, "startup_p50") == "—"
    assert tile(other, "failures") == "50.0 %"


async def test_unknown_video_is_404_and_a_deleted_one_keeps_its_history(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], library: Library
) -> None:
    await sign_in(client, await make_token(sessions, library.environment_id, ["data:read"]))
    for missing in ("abcdefghijklmnopqrstuv", "not..an..id"):
        response = await client.get(f"/analytics/assets/{missing}")
        assert response.status_code == 404
        assert "Video not found" in response.text
    gone = ids.new_id()
    await seed(sessions, library.environment_id, [Seen(1, gone, "h9", 300, watch=5.0)])
    response = await client.get(f"/analytics/assets/{gone}")
    assert response.status_code == 200
    assert "This video has been deleted" in response.text
    assert tile(response.text, "views") == "1"


async def test_another_environments_views_are_not_counted(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], library: Library
) -> None:
    other = f"env_{uuid.uuid4().hex[:16]}"
    async with sessions.begin() as s:
        s.add(Environment(id=other, name=other, created_at=NOW))
    await sign_in(client, await make_token(sessions, other, ["data:read"]))
    page = (await client.get("/analytics")).text
    assert 'id="empty-analytics"' in page
    assert (await client.get(f"/analytics/assets/{library.a}")).status_code == 404


async def test_empty_state_says_what_to_do(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], environment_id: str
) -> None:
    await sign_in(client, await make_token(sessions, environment_id, ["data:read"]))
    page = (await client.get("/analytics")).text
    assert 'id="empty-analytics"' in page
    assert "No views in the last 7 days" in page
    assert "Embed a video and play it" in page
    assert '&lt;iframe src="http://test/embed/PLAYBACK_ID"' in page
    assert "analytics-summary" not in page
    assert 'id="analytics-videos"' not in page


async def test_recent_days_are_live_and_older_ones_wait_for_the_rollup(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], environment_id: str
) -> None:
    await sign_in(client, await make_token(sessions, environment_id, ["data:read"]))
    asset = ids.new_id()
    await seed(
        sessions,
        environment_id,
        [Seen(0, asset, "x", 100, watch=4.0), Seen(1, asset, "y", 100), Seen(4, asset, "z", 100)],
    )
    page = (await client.get("/analytics")).text
    assert tile(page, "views") == "3"  # the totals are always live
    assert chart(series(page), "views") == [[0, 0, 0, 0, 0, 1, 1]]
    await roll_up(sessions, 4)
    page = (await client.get("/analytics")).text
    assert chart(series(page), "views") == [[0, 0, 1, 0, 0, 1, 1]]


# --- pure pieces ------------------------------------------------------------------------------


def test_period_is_whole_utc_days_ending_today() -> None:
    late = datetime(2027, 3, 20, 23, 59, tzinfo=UTC)
    period = period_of(7, late)
    assert period.start == datetime(2027, 3, 14, tzinfo=UTC)
    assert period.end == datetime(2027, 3, 21, tzinfo=UTC)
    assert period.dates[0] == date(2027, 3, 14) and period.dates[-1] == date(2027, 3, 20)
    assert len(period_of(30, late).dates) == 30


@pytest.mark.parametrize(
    ("value", "days"), [(None, 7), ("7", 7), ("30", 30), ("8", 7), ("-1", 7), ("x", 7)]
)
def test_chosen_days(value: str | None, days: int) -> None:
    assert chosen_days(value) == days


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (59.4, "59 s"), (60, "1 min 00 s"), (3599, "59 min 59 s"), (7625, "2 h 07 min")],
)
def test_format_watch(seconds: float, text: str) -> None:
    assert format_watch(seconds) == text


def test_format_ms_and_percent() -> None:
    assert format_ms(None) == "—"
    assert format_ms(812.4) == "812 ms"
    assert format_ms(1234) == "1.23 s"
    assert format_percent(None) == "—"
    assert format_percent(0.0312) == "3.1 %"


def test_tiles_rows_and_series_of_one_day() -> None:
    measures = Aggregate(
        views=4,
        unique_viewers=3,
        watch_seconds=90.0,
        rebuffer_seconds=9.0,
        startup_p50_ms=700.0,
        startup_p95_ms=1500.0,
        rebuffer_percentage=0.1,
        failure_percentage=0.25,
        exits_before_start=2,
    )
    shown = {t["id"]: (t["value"], t["detail"]) for t in tiles(measures)}
    assert shown["watch_time"] == ("1 min 30 s", "9 s of it rebuffering")
    assert shown["exits"] == ("2", "50.0 % of views")
    days = [(date(2027, 1, 1), None), (date(2027, 1, 2), measures)]
    rows = day_rows(days)
    assert [r["day"] for r in rows] == ["2027-01-02", "2027-01-01"]
    assert rows[0]["rebuffer"] == "10.0 %" and rows[1]["startup_p50"] == "—"
    data = chart_series(days)
    assert data["days"] == [1798761600, 1798848000]
    assert chart(data, "watch_time") == [[0, 1.5]]
    assert chart(data, "rebuffer") == [[None, 10.0]]
    assert chart(data, "exits") == [[0, 2]]


@pytest.mark.parametrize(
    ("value", "page"),
    [(None, 1), ("1", 1), ("2", 2), ("0", 1), ("-3", 1), ("x", 1), ("\u00b2", 1), ("10001", 10000)],
)
def test_chosen_page(value: str | None, page: int) -> None:
    assert chosen_page(value) == page


def test_videos_links_keep_the_period() -> None:
    assert videos_link(7, 1) == "/analytics"
    assert videos_link(7, 3) == "/analytics?page=3"
    assert videos_link(30, 1) == "/analytics?days=30"
    assert videos_link(30, 2) == "/analytics?days=30&page=2"


def test_video_rows() -> None:
    watched = Aggregate(
        views=12, watch_seconds=3725.0, startup_p50_ms=1530.0, rebuffer_percentage=0.0125
    )
    rows = video_rows(
        [("titled", watched), ("untitled", Aggregate(views=1)), ("gone", Aggregate(views=1))],
        {"titled": "Keynote", "untitled": None},
    )
    assert rows[0] == {
        "id": "titled",
        "title": "Keynote",
        "titled": True,
        "deleted": False,
        "views": "12",
        "watch_time": "1 h 02 min",
        "startup_p50": "1.53 s",
        "rebuffer": "1.2 %",
        "failures": "—",
    }
    assert (rows[1]["title"], rows[1]["titled"], rows[1]["deleted"]) == ("untitled", False, False)
    assert (rows[2]["title"], rows[2]["titled"], rows[2]["deleted"]) == ("gone", False, True)
