"""The data API's pure parts (``api/data.py``): timeframes, filters, metric values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reelhouse.analytics.queries import Aggregate
from reelhouse.api.data import (
    check_metric,
    metric_value,
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
    "values", [["7:weeks"], ["abc"], ["5", "1"], ["1", "2", "3"], ["0:days"], ["400:days"]]
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
