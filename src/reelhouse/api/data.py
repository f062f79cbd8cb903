"""``/data/v1/metrics``: view analytics in the spirit of Mux Data (permission ``data:read``).

```
GET /data/v1/metrics/{metric}/overall?timeframe[]=7:days&filters[]=asset_id:ID
GET /data/v1/metrics/{metric}/timeseries?timeframe[]=START&timeframe[]=END
GET /data/v1/metrics/{metric}/breakdown?group_by=asset_id&limit=25&page=1&order_direction=desc
```
Metrics: ``views``, ``unique_viewers``, ``playing_time`` (watch time, ms),
``video_startup_time`` (ms; ``measurement=median`` or ``95th``), ``rebuffer_percentage``,
``playback_failure_percentage``, ``exits_before_video_start`` (percentages as fractions, as
Mux reports them). ``overall`` is live; ``timeseries`` is one ``[day, value, views]`` row per
UTC day that has views, from the daily rollups; ``breakdown`` is live, one row per video with
views, most viewed first. See ``docs/analytics.md``.

The numbers come from a :class:`MetricsSource` the composition root passes in (reelhouse's is
``analytics.queries.ViewMetrics``): api and analytics are sibling layers, neither imports the
other. This module holds the wire: parameters, metric definitions, JSON shapes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from reelhouse.api.auth import principal_dependency
from reelhouse.api.deps import ApiDeps
from reelhouse.api.routers import PageLimit, PageNumber, resource_router
from reelhouse.errors import InvalidParameters
from reelhouse.media.tokens import DATA_READ, Principal
from reelhouse.schemas.metrics import Measures, MetricsSource

METRICS: Final = (
    "views",
    "unique_viewers",
    "playing_time",
    "video_startup_time",
    "rebuffer_percentage",
    "playback_failure_percentage",
    "exits_before_video_start",
)
MEASUREMENTS: Final = ("median", "95th")
# Where a higher value is a worse experience: the metrics a breakdown ranks by negative impact.
HIGHER_IS_WORSE: Final = frozenset(
    {
        "video_startup_time",
        "rebuffer_percentage",
        "playback_failure_percentage",
        "exits_before_video_start",
    }
)
GROUP_BY: Final = ("asset_id",)
ORDER_BY: Final = ("views",)
ORDER_DIRECTIONS: Final = ("desc", "asc")
MAX_TIMEFRAME: Final = timedelta(days=366)
_RELATIVE = re.compile(r"^([0-9]{1,6}):(minutes|hours|days)$")
_EPOCH = re.compile(r"^[0-9]{1,10}$")  # up to the year 2286
_SPAN = "timeframe[] must span more than 0 seconds and at most 366 days"


@dataclass(frozen=True)
class Timeframe:
    """A half-open interval of UTC instants."""

    start: datetime
    end: datetime

    @property
    def epochs(self) -> list[int]:
        return [int(self.start.timestamp()), int(self.end.timestamp())]


def parse_timeframe(values: Sequence[str], now: datetime) -> Timeframe:
    """``["24:hours"]`` (also minutes, days) or ``[start_epoch, end_epoch]``; none means the
    last 24 hours."""
    if not values:
        values = ["24:hours"]
    if len(values) == 1 and (match := _RELATIVE.match(values[0])):
        span = timedelta(**{match.group(2): int(match.group(1))})
        if span > MAX_TIMEFRAME:  # before subtracting: a long span leaves the calendar
            raise InvalidParameters(_SPAN)
        frame = Timeframe(now - span, now)
    elif len(values) == 2 and all(_EPOCH.match(value) for value in values):
        start, end = (datetime.fromtimestamp(int(value), UTC) for value in values)
        frame = Timeframe(start, end)
    else:
        raise InvalidParameters(
            "timeframe[] must be one value like 7:days or two epoch seconds [start, end]"
        )
    if not timedelta(0) < frame.end - frame.start <= MAX_TIMEFRAME:
        raise InvalidParameters(_SPAN)
    return frame


def parse_filters(values: Sequence[str]) -> str | None:
    """The asset id of ``["asset_id:ID"]``, or None; other dimensions are refused."""
    asset_id: str | None = None
    for value in values:
        dimension, sep, wanted = value.partition(":")
        if dimension != "asset_id" or not sep or not wanted:
            raise InvalidParameters(f"filters[]: unsupported filter {value!r}; use asset_id:ID")
        asset_id = wanted
    return asset_id


def check_metric(metric: str, measurement: str | None) -> str:
    """The measurement to use for ``metric`` (``median`` unless told), else InvalidParameters."""
    if metric not in METRICS:
        raise InvalidParameters(f"unknown metric {metric!r}; expected one of {', '.join(METRICS)}")
    chosen = measurement or "median"
    if chosen not in MEASUREMENTS:
        raise InvalidParameters(f"measurement must be one of {', '.join(MEASUREMENTS)}")
    return chosen


def metric_value(metric: str, agg: Measures, measurement: str = "median") -> float | int | None:
    """The value of ``metric`` over ``agg``."""
    match metric:
        case "views":
            return agg.views
        case "unique_viewers":
            return agg.unique_viewers
        case "playing_time":
            return round(agg.watch_seconds * 1000)
        case "video_startup_time":
            return agg.startup_p95_ms if measurement == "95th" else agg.startup_p50_ms
        case "rebuffer_percentage":
            return agg.rebuffer_percentage
        case "playback_failure_percentage":
            return agg.failure_percentage
        case "exits_before_video_start":
            return agg.exits_before_start / agg.views if agg.views else None
    raise InvalidParameters(f"unknown metric {metric!r}")


def check_breakdown(
    group_by: str | None, order_by: str | None, order_direction: str | None
) -> bool:
    """Whether a breakdown with these parameters lists the most viewed first (the default),
    else InvalidParameters naming what is supported."""
    if group_by not in GROUP_BY:
        raise InvalidParameters(f"group_by must be one of {', '.join(GROUP_BY)}")
    if (order_by or "views") not in ORDER_BY:
        raise InvalidParameters(f"order_by must be one of {', '.join(ORDER_BY)}")
    direction = order_direction or "desc"
    if direction not in ORDER_DIRECTIONS:
        raise InvalidParameters(f"order_direction must be one of {', '.join(ORDER_DIRECTIONS)}")
    return direction == "desc"


def negative_impacts(
    metric: str, rows: Sequence[tuple[int, float | int | None]], overall: float | int | None
) -> list[int | None]:
    """For rows of ``(views, value)``: each one's rank (1: the most) by how much it makes
    ``metric`` worse than its ``overall`` value, ``views * (value - overall)``. None for a row
    with nothing to measure, and for every row of a metric where more is not worse (views,
    unique viewers, playing time). Ranked among ``rows`` only; ties keep their order. Pure."""
    if metric not in HIGHER_IS_WORSE or overall is None:
        return [None] * len(rows)
    harms = {
        index: views * (value - overall)
        for index, (views, value) in enumerate(rows)
        if value is not None
    }
    ranked = sorted(harms, key=lambda index: -harms[index])
    rank = {index: place for place, index in enumerate(ranked, start=1)}
    return [rank.get(index) for index in range(len(rows))]


def breakdown_rows(
    metric: str,
    measurement: str,
    rows: Sequence[tuple[str, Measures]],
    total: Measures | None,
) -> list[dict[str, Any]]:
    """The ``data`` of a breakdown: each ``(asset_id, measures)`` row on the wire, its
    negative impact measured against ``total`` (the measures of every row's views; None: no
    impacts). Pure."""
    values = [(agg.views, metric_value(metric, agg, measurement)) for _, agg in rows]
    overall = metric_value(metric, total, measurement) if total is not None else None
    impacts = negative_impacts(metric, values, overall)
    return [
        {
            "field": field,
            "value": value,
            "views": agg.views,
            "negative_impact": impact,
            "total_watch_time": round(agg.watch_seconds * 1000),
            "total_playing_time": round((agg.watch_seconds - agg.rebuffer_seconds) * 1000),
        }
        for (field, agg), (_, value), impact in zip(rows, values, impacts, strict=True)
    ]


Timeframes = Annotated[list[str], Query(alias="timeframe[]", max_length=2)]
Filters = Annotated[list[str], Query(alias="filters[]", max_length=10)]
Measurement = Annotated[str | None, Query(max_length=16)]
Word = Annotated[str | None, Query(max_length=32)]


def data_router(deps: ApiDeps, source: MetricsSource) -> APIRouter:
    """The data endpoints, bound to ``deps`` and reading ``source``."""
    router = resource_router("/data/v1", "Metrics", errors=(400, 401, 403))
    caller = Depends(principal_dependency(deps.sessions, deps.clock))

    @router.get("/metrics/{metric}/overall", response_model=None)
    async def overall_metric(
        metric: str,
        principal: Principal = caller,
        timeframe: Timeframes = [],  # noqa: B006 (FastAPI copies defaults)
        filters: Filters = [],  # noqa: B006
        measurement: Measurement = None,
    ) -> JSONResponse:
        """``{"data": {"value", "total_views", "total_watch_time", "total_playing_time"},
        "meta", "timeframe"}``; ``value`` is null when there is nothing to measure."""
        principal.require(DATA_READ)
        chosen = check_metric(metric, measurement)
        frame = parse_timeframe(timeframe, deps.clock())
        asset_id = parse_filters(filters)
        agg = await source.overall(principal.environment_id, frame.start, frame.end, asset_id)
        body: dict[str, Any] = {
            "data": {
                "value": metric_value(metric, agg, chosen),
                "total_views": agg.views,
                "total_watch_time": round(agg.watch_seconds * 1000),
                "total_playing_time": round((agg.watch_seconds - agg.rebuffer_seconds) * 1000),
                "global_value": None,
            },
            "meta": _meta(metric, chosen, asset_id),
            "timeframe": frame.epochs,
            "total_row_count": None,
        }
        return JSONResponse(body)

    @router.get("/metrics/{metric}/timeseries", response_model=None)
    async def timeseries_metric(
        metric: str,
        principal: Principal = caller,
        timeframe: Timeframes = [],  # noqa: B006
        filters: Filters = [],  # noqa: B006
        measurement: Measurement = None,
    ) -> JSONResponse:
        """``{"data": [[day, value, views], ...], "meta": {"granularity": "day", ...}}``."""
        principal.require(DATA_READ)
        chosen = check_metric(metric, measurement)
        frame = parse_timeframe(timeframe, deps.clock())
        asset_id = parse_filters(filters)
        days = await source.daily(principal.environment_id, frame.start, frame.end, asset_id)
        rows = [
            [f"{day.isoformat()}T00:00:00Z", metric_value(metric, agg, chosen), agg.views]
            for day, agg in days
        ]
        body = {
            "data": rows,
            "meta": {**_meta(metric, chosen, asset_id), "granularity": "day"},
            "timeframe": frame.epochs,
            "total_row_count": len(rows),
        }
        return JSONResponse(body)

    @router.get("/metrics/{metric}/breakdown", response_model=None)
    async def breakdown_metric(
        metric: str,
        principal: Principal = caller,
        group_by: Word = None,
        timeframe: Timeframes = [],  # noqa: B006
        filters: Filters = [],  # noqa: B006
        measurement: Measurement = None,
        limit: PageLimit = 25,
        page: PageNumber = 1,
        order_by: Word = None,
        order_direction: Word = None,
    ) -> JSONResponse:
        """``{"data": [{"field", "value", "views", "negative_impact", "total_watch_time",
        "total_playing_time"}, ...], "total_row_count", "timeframe", "meta"}``: one row per
        video with views, ``limit`` a page."""
        principal.require(DATA_READ)
        chosen = check_metric(metric, measurement)
        descending = check_breakdown(group_by, order_by, order_direction)
        frame = parse_timeframe(timeframe, deps.clock())
        asset_id = parse_filters(filters)
        env = principal.environment_id
        found = await source.breakdown(
            env,
            frame.start,
            frame.end,
            limit=limit,
            offset=(page - 1) * limit,
            descending=descending,
            asset_id=asset_id,
        )
        total: Measures | None = None
        if metric in HIGHER_IS_WORSE and found.rows:
            total = await source.overall(env, frame.start, frame.end, asset_id)
        body = {
            "data": breakdown_rows(metric, chosen, found.rows, total),
            "meta": {
                **_meta(metric, chosen, asset_id),
                "group_by": "asset_id",
                "aggregation": "view_start",
            },
            "timeframe": frame.epochs,
            "total_row_count": found.total_row_count,
        }
        return JSONResponse(body)

    return router


def _meta(metric: str, measurement: str, asset_id: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"metric": metric, "filters": {"asset_id": asset_id}}
    if metric == "video_startup_time":
        meta["measurement"] = measurement
    return meta
