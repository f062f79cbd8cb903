"""``ViewMetrics.breakdown`` against PostgreSQL: per-asset measures over a period, the same as
``overall`` filtered to each asset; most viewed first, a page at a time, with the number of
assets over every page; another environment's views and views outside the period never
counted."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.analytics.queries import Aggregate, ViewMetrics
from reelhouse.db.models import Environment, View
from reelhouse.errors import InvalidParameters

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
START = NOW - timedelta(days=7)


@dataclass(frozen=True)
class Seen:
    """One view: asset, viewer, days before NOW, startup, watch, rebuffer, outcome."""

    asset: str
    viewer: str
    days_ago: float
    first_frame_ms: int | None = None
    watch: float = 0.0
    rebuffer: float = 0.0
    errored: bool = False
    silent_minutes: int = 0  # since its last beacon (abandoned after 5, if never started)
    ended: bool = True


TABLE = [
    # a: 4 views over three days, two viewers on one day
    Seen("a", "v1", 0.1, 100, watch=10.0),
    Seen("a", "v1", 0.2, 300, watch=20.0, rebuffer=2.0),
    Seen("a", "v2", 1.5, 500, watch=30.0),
    Seen("a", "v1", 3.5, 900, watch=40.0, rebuffer=2.0),
    # b: 3 views: a failure, an exit before start, one abandoned (silent for an hour)
    Seen("b", "v3", 0.5, errored=True),
    Seen("b", "v4", 2.5),
    Seen("b", "v5", 2.5, silent_minutes=60, ended=False),
    # c and d: 1 view each (a tie, broken by asset id); d still starting: not yet an exit
    Seen("c", "v6", 6.5, 200, watch=5.0),
    Seen("d", "v7", 0.05, silent_minutes=1, ended=False),
]
# Outside [START, NOW): never counted.
OUTSIDE = [Seen("a", "v9", 7.5, 100, watch=99.0), Seen("e", "v9", -0.5, 100)]


async def seed(sessions: async_sessionmaker[AsyncSession], env: str, table: list[Seen]) -> None:
    async with sessions.begin() as s:
        for row in table:
            started = NOW - timedelta(days=row.days_ago)
            s.add(
                View(
                    id=uuid.uuid4(),
                    environment_id=env,
                    asset_id=f"{env}-{row.asset}",
                    playback_id=f"pb-{row.asset}",
                    viewer_hash=row.viewer,
                    started_at=started,
                    last_beacon_at=NOW - timedelta(minutes=row.silent_minutes),
                    first_frame_ms=row.first_frame_ms,
                    watch_seconds=row.watch,
                    rebuffer_seconds=row.rebuffer,
                    errored=row.errored,
                    ended=row.ended,
                    exited_before_start=row.ended
                    and row.first_frame_ms is None
                    and not row.errored,
                )
            )


@pytest.fixture
async def metrics(sessions: async_sessionmaker[AsyncSession], environment_id: str) -> ViewMetrics:
    """The table seeded in the test's environment, and the same views (plus one more asset)
    in another environment, which must never show."""
    other = f"env_{secrets.token_hex(8)}"
    async with sessions.begin() as s:
        s.add(Environment(id=other, name=other, created_at=NOW))
    await seed(sessions, environment_id, TABLE + OUTSIDE)
    await seed(sessions, other, [*TABLE, Seen("z", "v1", 0.1, 100), Seen("z", "v2", 0.1, 100)])
    return ViewMetrics(sessions, lambda: NOW)


def short(env: str, rows: list[tuple[str, Aggregate]]) -> list[tuple[str, int]]:
    return [(asset_id.removeprefix(f"{env}-"), agg.views) for asset_id, agg in rows]


async def test_measures_per_asset(metrics: ViewMetrics, environment_id: str) -> None:
    found = await metrics.breakdown(environment_id, START, NOW, limit=10)
    assert found.total_row_count == 4
    by_asset = {asset_id.removeprefix(f"{environment_id}-"): agg for asset_id, agg in found.rows}
    assert by_asset["a"] == Aggregate(
        views=4,
        unique_viewers=3,  # v1 twice on one day counts once; v1 on another day again
        watch_seconds=100.0,
        rebuffer_seconds=4.0,
        startup_p50_ms=400.0,
        startup_p95_ms=pytest.approx(840.0),  # 500 + 0.85 * (900 - 500)
        rebuffer_percentage=pytest.approx(0.04),
        failure_percentage=0.0,
        exits_before_start=0,
    )
    b = by_asset["b"]
    assert (b.views, b.unique_viewers, b.startup_p50_ms, b.rebuffer_percentage) == (
        3,
        3,
        None,
        None,
    )
    assert b.failure_percentage == pytest.approx(1 / 3)
    assert b.exits_before_start == 2  # the one that ended and the abandoned one
    assert by_asset["d"].exits_before_start == 0  # silent for a minute: still starting


async def test_each_row_is_what_overall_says_of_its_asset(
    metrics: ViewMetrics, environment_id: str
) -> None:
    found = await metrics.breakdown(environment_id, START, NOW, limit=10)
    for asset_id, agg in found.rows:
        assert agg == await metrics.overall(environment_id, START, NOW, asset_id)
    overall = await metrics.overall(environment_id, START, NOW, None)
    assert sum(agg.views for _, agg in found.rows) == overall.views == 9


async def test_most_viewed_first_ties_by_asset_id_and_pages(
    metrics: ViewMetrics, environment_id: str
) -> None:
    env = environment_id
    found = await metrics.breakdown(env, START, NOW, limit=10)
    assert short(env, found.rows) == [("a", 4), ("b", 3), ("c", 1), ("d", 1)]
    first = await metrics.breakdown(env, START, NOW, limit=3)
    second = await metrics.breakdown(env, START, NOW, limit=3, offset=3)
    assert short(env, first.rows) == [("a", 4), ("b", 3), ("c", 1)]
    assert short(env, second.rows) == [("d", 1)]
    assert first.total_row_count == second.total_row_count == 4
    past_the_end = await metrics.breakdown(env, START, NOW, limit=3, offset=6)
    assert (past_the_end.rows, past_the_end.total_row_count) == ([], 4)
    least = await metrics.breakdown(env, START, NOW, limit=2, descending=False)
    assert short(env, least.rows) == [("c", 1), ("d", 1)]


async def test_one_asset_and_a_period_without_views(
    metrics: ViewMetrics, environment_id: str
) -> None:
    env = environment_id
    one = await metrics.breakdown(env, START, NOW, limit=5, asset_id=f"{env}-b")
    assert short(env, one.rows) == [("b", 3)] and one.total_row_count == 1
    # Half-open: a day's views from START on, none at NOW or after.
    day = await metrics.breakdown(env, NOW - timedelta(days=1), NOW, limit=5)
    assert short(env, day.rows) == [("a", 2), ("b", 1), ("d", 1)]
    before = await metrics.breakdown(
        env, START - timedelta(days=30), START - timedelta(days=8), limit=5
    )
    assert (before.rows, before.total_row_count) == ([], 0)


async def test_another_environment_sees_only_its_own(
    sessions: async_sessionmaker[AsyncSession], metrics: ViewMetrics
) -> None:
    stranger = f"env_{secrets.token_hex(8)}"
    async with sessions.begin() as s:
        s.add(Environment(id=stranger, name=stranger, created_at=NOW))
    found = await metrics.breakdown(stranger, START, NOW, limit=10)
    assert (found.rows, found.total_row_count) == ([], 0)


@pytest.mark.parametrize(("limit", "offset"), [(0, 0), (101, 0), (10, -1)])
async def test_unbounded_pages_are_refused(
    metrics: ViewMetrics, environment_id: str, limit: int, offset: int
) -> None:
    with pytest.raises(InvalidParameters, match="breakdown"):
        await metrics.breakdown(environment_id, START, NOW, limit=limit, offset=offset)
