"""``/data/v1/metrics``: view analytics in the spirit of Mux Data (permission ``data:read``).

```
GET /data/v1/metrics/{metric}/overall?timeframe[]=7:days&filters[]=asset_id:ID
GET /data/v1/metrics/{metric}/timeseries?timeframe[]=START&timeframe[]=END
```
Metrics: ``views``, ``unique_viewers``, ``playing_time`` (watch time, ms),
``video_startup_time`` (ms; ``measurement=median`` or ``95th``), ``rebuffer_percentage``,
``playback_failure_percentage``, ``exits_before_video_start`` (percentages as fractions).
``overall`` is live; ``timeseries`` is one ``[day, value, views]`` row per UTC day that has
views, from the daily rollups. See ``docs/analytics.md``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from reelhouse.analytics import queries
from reelhouse.api.auth import principal_dependency
from reelhouse.api.deps import ApiDeps
from reelhouse.media.tokens import DATA_READ, Principal
from reelhouse.schemas.envelopes import ErrorEnvelope

Timeframes = Annotated[list[str], Query(alias="timeframe[]", max_length=2)]
Filters = Annotated[list[str], Query(alias="filters[]", max_length=10)]
Measurement = Annotated[str | None, Query(max_length=16)]


def data_router(deps: ApiDeps) -> APIRouter:
    """The data endpoints, bound to ``deps``."""
    router = APIRouter(
        prefix="/data/v1",
        tags=["Metrics"],
        responses={
            400: {"model": ErrorEnvelope},
            401: {"model": ErrorEnvelope},
            403: {"model": ErrorEnvelope},
        },
    )
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
        now = deps.clock()
        chosen = queries.check_metric(metric, measurement)
        frame = queries.parse_timeframe(timeframe, now)
        asset_id = queries.parse_filters(filters)
        async with deps.sessions() as session:
            agg = await queries.overall(session, principal.environment_id, frame, asset_id, now=now)
        body: dict[str, Any] = {
            "data": {
                "value": queries.metric_value(metric, agg, chosen),
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
        chosen = queries.check_metric(metric, measurement)
        frame = queries.parse_timeframe(timeframe, deps.clock())
        asset_id = queries.parse_filters(filters)
        async with deps.sessions() as session:
            days = await queries.daily(session, principal.environment_id, frame, asset_id)
        rows = [
            [f"{day.isoformat()}T00:00:00Z", queries.metric_value(metric, agg, chosen), agg.views]
            for day, agg in days
        ]
        body = {
            "data": rows,
            "meta": {**_meta(metric, chosen, asset_id), "granularity": "day"},
            "timeframe": frame.epochs,
            "total_row_count": len(rows),
        }
        return JSONResponse(body)

    return router


def _meta(metric: str, measurement: str, asset_id: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"metric": metric, "filters": {"asset_id": asset_id}}
    if metric == "video_startup_time":
        meta["measurement"] = measurement
    return meta
