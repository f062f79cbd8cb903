"""The measures the data API reads (``api/data.py`` takes a :class:`ViewMetrics` as its
``MetricsSource``; api cannot import analytics, so the server hands it over).

``overall`` is live, from ``views`` with the rollups' own :data:`AGGREGATES`; ``daily`` reads
``daily_rollups``, as fresh as the last ``reelhouse.rollup_views`` run. Unique viewers are
counted per UTC day (the viewer hash's salt changes daily), so over several days they are the
sum of each day's unique viewers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.analytics.rollups import ABANDONED_AFTER, AGGREGATES
from reelhouse.db.models import DailyRollup


@dataclass(frozen=True)
class Aggregate:
    """The measures of a set of views (a rollup row, or a live answer). Percentages are
    fractions; ``None`` where there is nothing to measure."""

    views: int = 0
    unique_viewers: int = 0
    watch_seconds: float = 0.0
    rebuffer_seconds: float = 0.0
    startup_p50_ms: float | None = None
    startup_p95_ms: float | None = None
    rebuffer_percentage: float | None = None
    failure_percentage: float | None = None
    exits_before_start: int = 0


_OVERALL = f"""
    SELECT {AGGREGATES} FROM views
    WHERE environment_id = :env AND started_at >= :start AND started_at < :end
"""


class ViewMetrics:
    """Measures of an environment's views, each query in its own short read transaction."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Callable[[], datetime]
    ) -> None:
        self._sessions = sessions
        self._clock = clock

    async def overall(
        self, environment_id: str, start: datetime, end: datetime, asset_id: str | None
    ) -> Aggregate:
        """The live measures of the environment's views started in ``[start, end)``."""
        sql = _OVERALL + (" AND asset_id = :asset" if asset_id is not None else "")
        params: dict[str, Any] = {
            "env": environment_id,
            "start": start,
            "end": end,
            "asset": asset_id,
            "abandoned_before": self._clock() - ABANDONED_AFTER,
        }
        async with self._sessions() as session:
            row = (await session.execute(text(sql), params)).mappings().one()
        return Aggregate(**dict(row))

    async def daily(
        self, environment_id: str, start: datetime, end: datetime, asset_id: str | None
    ) -> list[tuple[date, Aggregate]]:
        """The rollups of the UTC days ``[start, end)`` touches, oldest first (days without
        views are absent)."""
        query = (
            select(DailyRollup)
            .where(
                DailyRollup.environment_id == environment_id,
                DailyRollup.asset_id == (asset_id or ""),
                DailyRollup.day >= start.date(),
                DailyRollup.day <= (end - timedelta(microseconds=1)).date(),
            )
            .order_by(DailyRollup.day)
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).scalars().all()
        return [(row.day, _aggregate(row)) for row in rows]


def _aggregate(row: DailyRollup) -> Aggregate:
    return Aggregate(**{column.name: getattr(row, column.name) for column in fields(Aggregate)})
