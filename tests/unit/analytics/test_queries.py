"""The data API's pure parts (``api/data.py``): timeframes, filters, metric values, breakdown
parameters, rows and negative impact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reelhouse.analytics.queries import Aggregate
from reelhouse.api.data import (
    breakdown_rows,
    check_breakdown,
    check_metric,
    metric_value,
    negative_impacts,
    parse_filters,
    parse_timeframe,
)
from reelhouse.errors import InvalidParameters

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def test_timeframes() -> None:
    assert parse_timeframe([], NOW).start == NOW - timedelta(hours=24)
    assert parse_timeframe(["7:days"], NOW).start == NOW - timedelta(days=7)
    assert parse_timeframe(["30:minutes"], NOW).end == NOW
    frame = parse_timeframe(["1700000000", "1700086400"], NOW)
    assert frame.epochs == [1700000000, 1700086400]


@pytest.mark.parametrize(
    "values",
    [
        ["7:weeks"],
        ["abc"],
        ["5", "1"],
        ["1", "2", "3"],
        ["0:days"],
        ["400:days"],
        ["999999:days"],  # would leave the calendar
        ["\u00b2", "3"],  # a digit to str.isdigit, not to int
        ["99999999999", "99999999999"],  # past the year 9999
    ],
)
def test_bad_timeframes(values: list[str]) -> None:
    with pytest.raises(InvalidParameters, match="timeframe"):
        parse_timeframe(values, NOW)


def test_filters() -> None:
    assert parse_filters([]) is None
    assert parse_filters(["asset_id:abc"]) == "abc"
    for bad in (["country:FR"], ["asset_id:"], ["asset_id"]):
        with pytest.raises(InvalidParameters, match="filters"):
            parse_filters(bad)


def test_metric_checks() -> None:
    assert check_metric("views", None) == "median"
    assert check_metric("video_startup_time", "95th") == "95th"
    with pytest.raises(InvalidParameters, match="unknown metric"):
        check_metric("bitrate", None)
    with pytest.raises(InvalidParameters, match="measurement"):
        check_metric("views", "avg")


AGG = Aggregate(
    views=4,
    unique_viewers=3,
    watch_seconds=12.5,
    rebuffer_seconds=1.0,
    startup_p50_ms=800.0,
    startup_p95_ms=1900.0,
    rebuffer_percentage=0.08,
    failure_percentage=0.25,
    exits_before_start=1,
)


@pytest.mark.parametrize(
    ("metric", "measurement", "value"),
    [
        ("views", "median", 4),
        ("unique_viewers", "median", 3),
        ("playing_time", "median", 12500),
        ("video_startup_time", "median", 800.0),
        ("video_startup_time", "95th", 1900.0),
        ("rebuffer_percentage", "median", 0.08),
        ("playback_failure_percentage", "median", 0.25),
        ("exits_before_video_start", "median", 0.25),
    ],
)
def test_metric_values(metric: str, measurement: str, value: float) -> None:
    assert metric_value(metric, AGG, measurement) == value


def test_no_views_means_no_value() -> None:
    assert metric_value("exits_before_video_start", Aggregate()) is None
    assert metric_value("video_startup_time", Aggregate()) is None


def test_breakdown_parameters() -> None:
    assert check_breakdown("asset_id", None, None) is True
    assert check_breakdown("asset_id", "views", "desc") is True
    assert check_breakdown("asset_id", "views", "asc") is False
    for group_by in (None, "", "browser", "ASSET_ID"):
        with pytest.raises(InvalidParameters, match="group_by must be one of asset_id"):
            check_breakdown(group_by, None, None)
    with pytest.raises(InvalidParameters, match="order_by must be one of views"):
        check_breakdown("asset_id", "negative_impact", None)
    with pytest.raises(InvalidParameters, match="order_direction must be one of desc, asc"):
        check_breakdown("asset_id", None, "up")


@pytest.mark.parametrize(
    ("metric", "rows", "overall", "ranks"),
    [
        # views * (value - overall): 10 * 0.1 = 1.0, 2 * 0.4 = 0.8, 30 * -0.05 = -1.5
        ("rebuffer_percentage", [(10, 0.2), (2, 0.5), (30, 0.05)], 0.1, [1, 2, 3]),
        ("video_startup_time", [(5, 900.0), (5, None), (50, 1000.0)], 950.0, [2, None, 1]),
        ("playback_failure_percentage", [(1, 0.0), (1, 0.0)], 0.0, [1, 2]),  # ties keep order
        ("views", [(10, 10), (2, 2)], 12, [None, None]),  # more views is not worse
        ("playing_time", [(1, 500)], 500, [None]),
        ("exits_before_video_start", [(4, 0.5)], None, [None]),
    ],
)
def test_negative_impact(
    metric: str,
    rows: list[tuple[int, float | None]],
    overall: float | None,
    ranks: list[int | None],
) -> None:
    assert negative_impacts(metric, rows, overall) == ranks


def test_breakdown_rows_on_the_wire() -> None:
    slow = Aggregate(views=1, watch_seconds=2.0, startup_p50_ms=3000.0, startup_p95_ms=3000.0)
    total = Aggregate(views=5, startup_p50_ms=800.0, startup_p95_ms=1900.0)
    rows = breakdown_rows("video_startup_time", "95th", [("a", AGG), ("s", slow)], total)
    assert rows == [
        {
            "field": "a",
            "value": 1900.0,
            "views": 4,
            "negative_impact": 2,  # 4 * (1900 - 1900) = 0
            "total_watch_time": 12500,
            "total_playing_time": 11500,
        },
        {
            "field": "s",
            "value": 3000.0,
            "views": 1,
            "negative_impact": 1,  # 1 * (3000 - 1900) = 1100
            "total_watch_time": 2000,
            "total_playing_time": 2000,
        },
    ]
    counts = breakdown_rows("views", "median", [("a", AGG)], None)
    assert counts[0]["value"] == 4 and counts[0]["negative_impact"] is None
