"""The analytics task: ``reelhouse.rollup_views`` (every 5 minutes) recomputes yesterday's and
today's daily rollups from the view rows (yesterday too, for views that started before
midnight and kept sending beacons). Idempotent: each day is replaced in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

import procrastinate
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.analytics import rollups
from reelhouse.logs import get_logger

ROLLUP_VIEWS = "reelhouse.rollup_views"

log = get_logger("reelhouse.worker.analytics")


@dataclass(frozen=True)
class AnalyticsDeps:
    sessions: async_sessionmaker[AsyncSession]
    clock: Callable[[], datetime]


async def rollup_views_once(deps: AnalyticsDeps) -> dict[date, int]:
    """Recompute the rollups of yesterday and today; returns the rows written per day."""
    now = deps.clock()
    written: dict[date, int] = {}
    for day in rollups.recent_days(now):
        async with deps.sessions.begin() as session:
            written[day] = await rollups.recompute_day(session, day, now=now)
    log.info("analytics.rolled_up", rows=sum(written.values()))
    return written


def register_analytics_tasks(app: procrastinate.App, deps: AnalyticsDeps) -> None:
    """Register ``reelhouse.rollup_views`` (periodic, every 5 minutes) on ``app``."""

    @app.periodic(cron="*/5 * * * *", periodic_id="rollup_views")
    @app.task(name=ROLLUP_VIEWS, queueing_lock=ROLLUP_VIEWS, lock=ROLLUP_VIEWS, pass_context=False)
    async def rollup_views(timestamp: int) -> None:
        await rollup_views_once(deps)
