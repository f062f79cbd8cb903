"""What the data API reads: metrics of an environment's views over a timeframe.

Pure parts (timeframes, filters, metric values) are plain functions over dataclasses; the two
queries are ``overall`` (live, from ``views`` with the rollups' own :data:`AGGREGATES`) and
``daily`` (from ``daily_rollups``, as fresh as the last ``reelhouse.rollup_views`` run).

Units follow Mux Data: times in milliseconds, percentages as fractions (0.05 is 5 %).
Unique viewers are counted per UTC day (the viewer hash's salt changes daily), so over several
days they are the sum of each day's unique viewers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.analytics.rollups import ABANDONED_AFTER, AGGREGATES
from reelhouse.db.models import DailyRollup
from reelhouse.errors import InvalidParameters

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
MAX_TIMEFRAME: Final = timedelta(days=366)
_RELATIVE = re.compile(r"^(\d{1,6}):(minutes|hours|days)$")


@dataclass(frozen=True)
class Timeframe:
    """A half-open interval of UTC instants."""

    start: datetime
    end: datetime

    @property
    def epochs(self) -> list[int]:
        return [int(self.start.timestamp()), int(self.end.timestamp())]


@dataclass(frozen=True)
class Aggregate:
    """The measures of a set of views (a rollup row, or a live answer)."""

    views: int = 0
    unique_viewers: int = 0
    watch_seconds: float = 0.0
    rebuffer_seconds: float = 0.0
    startup_p50_ms: float | None = None
    startup_p95_ms: float | None = None
    rebuffer_percentage: float | None = None
    failure_percentage: float | None = None
    exits_before_start: int = 0


def parse_timeframe(values: Sequence[str], now: datetime) -> Timeframe:
    """``["24:hours"]`` (also minutes, days) or ``[start_epoch, end_epoch]``; none means the
    last 24 hours."""
    if not values:
        values = ["24:hours"]
    if len(values) == 1 and (match := _RELATIVE.match(values[0])):
        span = timedelta(**{match.group(2): int(match.group(1))})
        frame = Timeframe(now - span, now)
    elif len(values) == 2 and all(value.isdigit() for value in values):
        start, end = (datetime.fromtimestamp(int(value), UTC) for value in values)
        frame = Timeframe(start, end)
    else:
        raise InvalidParameters(
            "timeframe[] must be one value like 7:days or two epoch seconds [start, end]"
        )
    if not timedelta(0) < frame.end - frame.start <= MAX_TIMEFRAME:
        raise InvalidParameters("timeframe[] must span more than 0 seconds and at most 366 days")
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


def metric_value(metric: str, agg: Aggregate, measurement: str = "median") -> float | int | None:
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


_OVERALL_ALL = f"SELECT {AGGREGATES} FROM views WHERE environment_id = :env"
_WINDOW = " AND started_at >= :start AND started_at < :end"


async def overall(
    session: AsyncSession,
    environment_id: str,
    frame: Timeframe,
    asset_id: str | None,
    *,
    now: datetime,
) -> Aggregate:
    """The live measures of the environment's views started within ``frame``."""
    sql = _OVERALL_ALL + _WINDOW + (" AND asset_id = :asset" if asset_id is not None else "")
    params: dict[str, Any] = {
        "env": environment_id,
        "start": frame.start,
        "end": frame.end,
        "asset": asset_id,
        "abandoned_before": now - ABANDONED_AFTER,
    }
    row = (await session.execute(text(sql), params)).mappings().one()
    return Aggregate(**dict(row))


async def daily(
    session: AsyncSession, environment_id: str, frame: Timeframe, asset_id: str | None
) -> list[tuple[date, Aggregate]]:
    """The rollups of the UTC days ``frame`` touches, oldest first (days without views are
    absent)."""
    query = (
        select(DailyRollup)
        .where(
            DailyRollup.environment_id == environment_id,
            DailyRollup.asset_id == (asset_id or ""),
            DailyRollup.day >= frame.start.date(),
            DailyRollup.day <= (frame.end - timedelta(microseconds=1)).date(),
        )
        .order_by(DailyRollup.day)
    )
    rows = (await session.execute(query)).scalars().all()
    return [(row.day, _aggregate(row)) for row in rows]


def _aggregate(row: DailyRollup) -> Aggregate:
    return Aggregate(
        views=row.views,
        unique_viewers=row.unique_viewers,
        watch_seconds=row.watch_seconds,
        rebuffer_seconds=row.rebuffer_seconds,
        startup_p50_ms=row.startup_p50_ms,
        startup_p95_ms=row.startup_p95_ms,
        rebuffer_percentage=row.rebuffer_percentage,
        failure_percentage=row.failure_percentage,
        exits_before_start=row.exits_before_start,
    )
