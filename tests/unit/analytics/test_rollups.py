"""Daily rollups from a table of views: counts, unique viewers, p50/p95 startup, percentages,
exits before start; recomputation is idempotent."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import procrastinate
import pytest
from procrastinate.testing import InMemoryConnector
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.analytics.rollups import recent_days, recompute_day
from reelhouse.db.models import DailyRollup, View
from reelhouse.worker.analytics_tasks import (
    ROLLUP_VIEWS,
    AnalyticsDeps,
    register_analytics_tasks,
    rollup_views_once,
)

DAY = date(2026, 11, 20)
NOON = datetime(2026, 11, 20, 12, tzinfo=UTC)
LATER = datetime(2026, 11, 21, 1, tzinfo=UTC)

# asset, viewer, first_frame_ms, watch, rebuffer, errored, ended, minutes since last beacon
TABLE: list[tuple[str, str, int | None, float, float, bool, bool, int]] = [
    ("a", "v1", 100, 10.0, 0.0, False, True, 0),
    ("a", "v1", 200, 20.0, 1.0, False, True, 0),
    ("a", "v2", 300, 30.0, 2.0, False, True, 0),
    ("a", "v3", 400, 40.0, 0.0, False, False, 0),
    ("a", "v4", 1000, 0.0, 0.0, False, False, 0),
    ("b", "v5", None, 0.0, 0.0, True, True, 0),  # failure
    ("b", "v6", None, 0.0, 0.0, False, True, 0),  # exit before start
    ("b", "v7", None, 0.0, 0.0, False, False, 600),  # abandoned: also an exit
    ("b", "v8", None, 0.0, 0.0, False, False, 0),  # still starting: not yet an exit
]


def view(env: str, row: tuple[Any, ...], started: datetime) -> View:
    asset, viewer, first_frame, watch, rebuffer, errored, ended, silent = row
    return View(
        id=uuid.uuid4(),
        environment_id=env,
        asset_id=f"{env}-{asset}",
        playback_id=f"pb-{asset}",
        viewer_hash=viewer,
        started_at=started,
        last_beacon_at=LATER - timedelta(minutes=silent),
        first_frame_ms=first_frame,
        watch_seconds=watch,
        rebuffer_seconds=rebuffer,
        rebuffer_count=1 if rebuffer else 0,
        errored=errored,
        error_code="decode" if errored else None,
        exited_before_start=ended and first_frame is None and not errored,
        ended=ended,
    )


async def rollups(
    sessions: async_sessionmaker[AsyncSession], env: str
) -> dict[str, dict[str, Any]]:
    async with sessions() as session:
        rows = (
            await session.execute(select(DailyRollup).where(DailyRollup.environment_id == env))
        ).scalars()
        return {
            row.asset_id.removeprefix(f"{env}-"): {
                key: getattr(row, key)
                for key in (
                    "day",
                    "views",
                    "unique_viewers",
                    "watch_seconds",
                    "startup_p50_ms",
                    "startup_p95_ms",
                    "rebuffer_percentage",
                    "failure_percentage",
                    "exits_before_start",
                )
            }
            for row in rows
        }


async def test_rollup_numbers(
    sessions: async_sessionmaker[AsyncSession], environment_id: str
) -> None:
    async with sessions.begin() as session:
        session.add_all(view(environment_id, row, NOON) for row in TABLE)
        # The day before and after do not leak in.
        session.add(view(environment_id, TABLE[0], NOON - timedelta(days=1)))
        session.add(view(environment_id, TABLE[0], NOON + timedelta(days=1)))
    for _ in range(2):  # idempotent
        async with sessions.begin() as session:
            assert await recompute_day(session, DAY, now=LATER) >= 3
    got = await rollups(sessions, environment_id)
    assert set(got) == {"a", "b", ""}
    a, b, total = got["a"], got["b"], got[""]
    assert a["day"] == DAY
    assert (a["views"], a["unique_viewers"], a["watch_seconds"]) == (5, 4, 100.0)
    assert a["startup_p50_ms"] == 300.0
    assert a["startup_p95_ms"] == pytest.approx(880.0)  # 400 + 0.8 * (1000 - 400)
    assert a["rebuffer_percentage"] == pytest.approx(0.03)
    assert (a["failure_percentage"], a["exits_before_start"]) == (0.0, 0)
    assert (b["views"], b["startup_p50_ms"], b["rebuffer_percentage"]) == (4, None, None)
    assert (b["failure_percentage"], b["exits_before_start"]) == (0.25, 2)
    assert (total["views"], total["unique_viewers"], total["exits_before_start"]) == (9, 8, 2)
    assert total["startup_p50_ms"] == 300.0
    assert total["failure_percentage"] == pytest.approx(1 / 9)


async def test_the_task_recomputes_yesterday_and_today(
    sessions: async_sessionmaker[AsyncSession], environment_id: str
) -> None:
    now = datetime(2026, 10, 2, 0, 3, tzinfo=UTC)
    assert recent_days(now) == (date(2026, 10, 1), date(2026, 10, 2))
    async with sessions.begin() as session:
        session.add(view(environment_id, TABLE[0], now - timedelta(hours=1)))
        session.add(view(environment_id, TABLE[1], now))
    written = await rollup_views_once(AnalyticsDeps(sessions, lambda: now))
    assert written[date(2026, 10, 1)] >= 2 and written[date(2026, 10, 2)] >= 2
    got = await rollups(sessions, environment_id)
    assert got[""]["views"] == 1  # one row per day, both days present
    async with sessions() as session:
        days = (
            await session.execute(
                select(DailyRollup.day).where(
                    DailyRollup.environment_id == environment_id, DailyRollup.asset_id == ""
                )
            )
        ).scalars()
        assert sorted(days) == [date(2026, 10, 1), date(2026, 10, 2)]


def test_the_task_is_periodic(sessions: async_sessionmaker[AsyncSession]) -> None:
    app = procrastinate.App(connector=InMemoryConnector())
    register_analytics_tasks(app, AnalyticsDeps(sessions, lambda: LATER))
    assert ROLLUP_VIEWS in app.tasks
    periodic = list(app.periodic_registry.periodic_tasks.values())
    assert [(p.task.name, p.cron) for p in periodic] == [(ROLLUP_VIEWS, "*/5 * * * *")]
