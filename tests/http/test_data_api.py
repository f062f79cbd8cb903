"""``/data/v1/metrics``: the rollup numbers of a table of views, overall, per day and per
video, with ``data:read`` only.

The app is the REST API with the analytics ``MetricsSource`` the server passes in."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.analytics.queries import ViewMetrics
from reelhouse.analytics.rollups import recompute_day
from reelhouse.api.app import ApiDeps, build_api_router
from reelhouse.db.models import View
from reelhouse.media import tokens
from reelhouse.server.errors import install_error_handlers
from tests.http.conftest import BASE_URL, Caller, DeletedObjects, make_caller

DAY1 = datetime(2026, 9, 10, 10, tzinfo=UTC)
DAY2 = datetime(2026, 9, 11, 10, tzinfo=UTC)
FRAME = {"timeframe[]": [str(int(DAY1.timestamp()) - 36000), str(int(DAY2.timestamp()) + 50400)]}

# started, asset, viewer, first_frame_ms, watch, rebuffer, errored
TABLE: list[tuple[datetime, str, str, int | None, float, float, bool]] = [
    (DAY1, "a", "v1", 100, 10.0, 0.0, False),
    (DAY1, "a", "v1", 200, 20.0, 1.0, False),
    (DAY1, "a", "v2", 300, 30.0, 2.0, False),
    (DAY1, "b", "v3", None, 0.0, 0.0, True),
    (DAY2, "a", "v1", 1000, 40.0, 0.0, False),
    (DAY2, "b", "v4", None, 0.0, 0.0, False),  # ended before the first frame
]


@pytest.fixture
async def client(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[httpx.AsyncClient]:
    clock = lambda: datetime.now(UTC)  # noqa: E731
    deps = ApiDeps(sessions, BASE_URL, clock, 1 << 30, DeletedObjects().record)
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(build_api_router(deps, ViewMetrics(sessions, clock)))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


@pytest.fixture
async def analysed(caller: Caller, sessions: async_sessionmaker[AsyncSession]) -> Caller:
    env = caller.environment_id
    async with sessions.begin() as s:
        for started, asset, viewer, first_frame, watch, rebuffer, errored in TABLE:
            s.add(
                View(
                    id=uuid.uuid4(),
                    environment_id=env,
                    asset_id=f"{env}-{asset}",
                    playback_id="pb",
                    viewer_hash=viewer,
                    started_at=started,
                    last_beacon_at=started + timedelta(minutes=1),
                    first_frame_ms=first_frame,
                    watch_seconds=watch,
                    rebuffer_seconds=rebuffer,
                    errored=errored,
                    ended=True,
                    exited_before_start=first_frame is None and not errored,
                )
            )
    for day in (date(2026, 9, 10), date(2026, 9, 11)):
        async with sessions.begin() as s:
            await recompute_day(s, day, now=DAY2 + timedelta(days=1))
    return caller


async def get(client: httpx.AsyncClient, who: Caller, path: str, **params: Any) -> httpx.Response:
    return await client.get(f"/data/v1/metrics/{path}", params={**FRAME, **params}, auth=who.auth)


@pytest.mark.parametrize(
    ("metric", "params", "value"),
    [
        ("views", {}, 6),
        ("unique_viewers", {}, 5),  # v1 on two days counts once per day
        ("playing_time", {}, 100_000),
        ("video_startup_time", {}, 250.0),
        ("video_startup_time", {"measurement": "95th"}, pytest.approx(895.0)),
        ("rebuffer_percentage", {}, pytest.approx(0.03)),
        ("playback_failure_percentage", {}, pytest.approx(1 / 6)),
        ("exits_before_video_start", {}, pytest.approx(1 / 6)),
    ],
)
async def test_overall(
    client: httpx.AsyncClient, analysed: Caller, metric: str, params: dict[str, str], value: Any
) -> None:
    r = await get(client, analysed, f"{metric}/overall", **params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["data"]["value"] == value
    assert body["data"]["total_views"] == 6
    assert body["data"]["total_watch_time"] == 100_000
    assert body["data"]["total_playing_time"] == 97_000
    assert body["timeframe"] == [int(v) for v in FRAME["timeframe[]"]]
    assert body["meta"]["metric"] == metric


async def test_overall_filtered_by_asset(client: httpx.AsyncClient, analysed: Caller) -> None:
    asset = f"{analysed.environment_id}-a"
    r = await get(
        client, analysed, "video_startup_time/overall", **{"filters[]": f"asset_id:{asset}"}
    )
    assert r.json()["data"]["value"] == 250.0 and r.json()["data"]["total_views"] == 4
    assert r.json()["meta"]["filters"] == {"asset_id": asset}


async def test_timeseries_reads_the_daily_rollups(
    client: httpx.AsyncClient, analysed: Caller
) -> None:
    r = await get(client, analysed, "video_startup_time/timeseries", measurement="95th")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["data"] == [
        ["2026-09-10T00:00:00Z", pytest.approx(290.0), 4],  # 200 + 0.9 * (300 - 200)
        ["2026-09-11T00:00:00Z", 1000.0, 2],
    ]
    assert body["meta"]["granularity"] == "day" and body["total_row_count"] == 2
    r = await get(
        client,
        analysed,
        "views/timeseries",
        **{"filters[]": f"asset_id:{analysed.environment_id}-b"},
    )
    assert [row[1:] for row in r.json()["data"]] == [[1, 1], [1, 1]]


async def test_relative_timeframe_and_other_environments(
    client: httpx.AsyncClient, analysed: Caller, other_caller: Caller
) -> None:
    r = await client.get(
        "/data/v1/metrics/views/overall", params={"timeframe[]": "7:days"}, auth=analysed.auth
    )
    assert r.status_code == 200 and r.json()["data"]["value"] == 0
    r = await get(client, other_caller, "views/overall")
    assert r.json()["data"]["value"] == 0 and r.json()["data"]["total_views"] == 0


async def test_breakdown_by_video(client: httpx.AsyncClient, analysed: Caller) -> None:
    a, b = (f"{analysed.environment_id}-{asset}" for asset in "ab")
    r = await get(client, analysed, "views/breakdown", group_by="asset_id")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["data"] == [
        {
            "field": a,
            "value": 4,
            "views": 4,
            "negative_impact": None,
            "total_watch_time": 100_000,
            "total_playing_time": 97_000,
        },
        {
            "field": b,
            "value": 2,
            "views": 2,
            "negative_impact": None,
            "total_watch_time": 0,
            "total_playing_time": 0,
        },
    ]
    assert body["total_row_count"] == 2
    assert body["timeframe"] == [int(v) for v in FRAME["timeframe[]"]]
    assert body["meta"] == {
        "metric": "views",
        "filters": {"asset_id": None},
        "group_by": "asset_id",
        "aggregation": "view_start",
    }


@pytest.mark.parametrize(
    ("metric", "params", "values", "impacts"),
    [
        ("video_startup_time", {}, [250.0, None], [1, None]),
        ("video_startup_time", {"measurement": "95th"}, [pytest.approx(895.0), None], [1, None]),
        ("rebuffer_percentage", {}, [pytest.approx(0.03), None], [1, None]),
        # b fails half its views against 1 in 6 overall: the worse of the two
        ("playback_failure_percentage", {}, [0.0, 0.5], [2, 1]),
        ("exits_before_video_start", {}, [0.0, 0.5], [2, 1]),
        ("unique_viewers", {}, [3, 2], [None, None]),
    ],
)
async def test_breakdown_values_and_negative_impact(
    client: httpx.AsyncClient,
    analysed: Caller,
    metric: str,
    params: dict[str, str],
    values: list[Any],
    impacts: list[int | None],
) -> None:
    r = await get(client, analysed, f"{metric}/breakdown", group_by="asset_id", **params)
    assert r.status_code == 200, r.text
    rows = r.json()["data"]
    assert [row["value"] for row in rows] == values
    assert [row["negative_impact"] for row in rows] == impacts


async def test_breakdown_pages_order_and_filter(
    client: httpx.AsyncClient, analysed: Caller, other_caller: Caller
) -> None:
    a, b = (f"{analysed.environment_id}-{asset}" for asset in "ab")

    async def fields(who: Caller = analysed, **params: Any) -> tuple[list[str], int]:
        r = await get(client, who, "views/breakdown", group_by="asset_id", **params)
        assert r.status_code == 200, r.text
        return [row["field"] for row in r.json()["data"]], r.json()["total_row_count"]

    assert await fields(limit=1) == ([a], 2)
    assert await fields(limit=1, page=2) == ([b], 2)
    assert await fields(limit=1, page=3) == ([], 2)
    assert await fields(order_direction="asc") == ([b, a], 2)
    assert await fields(order_by="views", order_direction="desc") == ([a, b], 2)
    assert await fields(**{"filters[]": f"asset_id:{b}"}) == ([b], 1)
    assert await fields(other_caller) == ([], 0)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "group_by must be one of asset_id"),
        ({"group_by": "browser"}, "group_by must be one of asset_id"),
        ({"group_by": "asset_id", "order_by": "value"}, "order_by must be one of views"),
        ({"group_by": "asset_id", "order_direction": "up"}, "order_direction must be one of"),
        ({"group_by": "asset_id", "limit": "0"}, "limit"),
        ({"group_by": "asset_id", "limit": "101"}, "limit"),
        ({"group_by": "asset_id", "page": "0"}, "page"),
        ({"group_by": "asset_id", "page": "two"}, "page"),
        ({"group_by": "asset_id", "timeframe[]": "400:days"}, "timeframe"),
        ({"group_by": "asset_id", "filters[]": "country:FR"}, "filters"),
    ],
)
async def test_bad_breakdown_parameters(
    client: httpx.AsyncClient, caller: Caller, params: dict[str, str], message: str
) -> None:
    r = await client.get("/data/v1/metrics/views/breakdown", params=params, auth=caller.auth)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["type"] == "invalid_parameters"
    assert message in r.json()["error"]["messages"][0]


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("bitrate/overall", {}, "unknown metric"),
        ("bitrate/breakdown", {"group_by": "asset_id"}, "unknown metric"),
        ("views/overall", {"timeframe[]": "soon"}, "timeframe"),
        ("views/timeseries", {"filters[]": "country:FR"}, "filters"),
        ("views/overall", {"measurement": "avg"}, "measurement"),
    ],
)
async def test_bad_parameters(
    client: httpx.AsyncClient, caller: Caller, path: str, params: dict[str, str], message: str
) -> None:
    r = await client.get(f"/data/v1/metrics/{path}", params=params, auth=caller.auth)
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "invalid_parameters"
    assert message in r.json()["error"]["messages"][0]


async def test_needs_data_read(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    r = await client.get("/data/v1/metrics/views/overall")
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "unauthorized"
    video_only = await make_caller(sessions, (tokens.VIDEO_READ, tokens.VIDEO_WRITE))
    for path in ("views/overall", "views/timeseries", "views/breakdown?group_by=asset_id"):
        r = await client.get(f"/data/v1/metrics/{path}", auth=video_only.auth)
        assert r.status_code == 403
        assert r.json()["error"]["type"] == "forbidden"
    reader = await make_caller(sessions, (tokens.DATA_READ,))
    r = await client.get("/data/v1/metrics/views/overall", auth=reader.auth)
    assert r.status_code == 200
    r = await client.get("/data/v1/metrics/views/breakdown?group_by=asset_id", auth=reader.auth)
    assert r.status_code == 200 and r.json()["data"] == []
