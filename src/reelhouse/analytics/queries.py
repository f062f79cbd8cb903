"""The measures the data API and the dashboard read (``api/data.py`` and
``web/analytics_pages.py`` take a :class:`ViewMetrics` as their ``MetricsSource``; they cannot
import analytics, so the server hands it over).

``overall`` and ``breakdown`` are live, from ``views`` with the rollups' own
:data:`AGGREGATES` over the same scope (one environment, a period, maybe one asset);
``daily`` reads ``daily_rollups``, as fresh as the last ``reelhouse.rollup_views`` run. Unique
viewers are counted per UTC day (the viewer hash's salt changes daily), so over several days
they are the sum of each day's unique viewers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.analytics.rollups import ABANDONED_AFTER, AGGREGATES
from reelhouse.db.models import DailyRollup
from reelhouse.errors import InvalidParameters

MAX_BREAKDOWN_ROWS: Final = 100


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


@dataclass(frozen=True)
class Breakdown:
    """One page of per-asset measures, and how many assets had views in the period."""

    rows: list[tuple[str, Aggregate]]
    total_row_count: int


_MEASURES: Final = tuple(field.name for field in fields(Aggregate))


def _scope(asset_id: str | None) -> str:
    """The views ``overall`` and ``breakdown`` measure: the environment's, started in the
    period, of one asset when given."""
    scope = """
        FROM views
        WHERE environment_id = :env AND started_at >= :start AND started_at < :end
    """
    return scope + (" AND asset_id = :asset" if asset_id is not None else "")


def _overall_sql(asset_id: str | None) -> str:
    return f"SELECT {AGGREGATES} {_scope(asset_id)}"


def _breakdown_sql(asset_id: str | None, descending: bool) -> str:
    """Every asset's measures, then the page of them in views order (ties by asset id), with
    the number of assets on every row; one row of nulls but the count when the page is empty."""
    order = f"views {'DESC' if descending else 'ASC'}, asset_id"
    return f"""
        WITH per_asset AS (SELECT asset_id, {AGGREGATES} {_scope(asset_id)} GROUP BY asset_id)
        SELECT total.row_count, page.*
        FROM (SELECT count(*) AS row_count FROM per_asset) AS total
        LEFT JOIN LATERAL (
            SELECT * FROM per_asset ORDER BY {order} LIMIT :limit OFFSET :offset
        ) AS page ON true
        ORDER BY {order}
    """


class ViewMetrics:
    """Measures of an environment's views, each query in its own short read transaction."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Callable[[], datetime]
    ) -> None:
        self._sessions = sessions
        self._clock = clock

    def _params(
        self, environment_id: str, start: datetime, end: datetime, asset_id: str | None
    ) -> dict[str, Any]:
        return {
            "env": environment_id,
            "start": start,
            "end": end,
            "asset": asset_id,
            "abandoned_before": self._clock() - ABANDONED_AFTER,
        }

    async def overall(
        self, environment_id: str, start: datetime, end: datetime, asset_id: str | None
    ) -> Aggregate:
        """The live measures of the environment's views started in ``[start, end)``."""
        params = self._params(environment_id, start, end, asset_id)
        async with self._sessions() as session:
            row = (await session.execute(text(_overall_sql(asset_id)), params)).mappings().one()
        return Aggregate(**dict(row))

    async def breakdown(
        self,
        environment_id: str,
        start: datetime,
        end: datetime,
        *,
        limit: int,
        offset: int = 0,
        descending: bool = True,
        asset_id: str | None = None,
    ) -> Breakdown:
        """The live measures of each asset with views started in ``[start, end)``: ``limit``
        of them (at most :data:`MAX_BREAKDOWN_ROWS`) after skipping ``offset``, most viewed
        first (least with ``descending=False``), ties by asset id. One query."""
        if not 1 <= limit <= MAX_BREAKDOWN_ROWS or offset < 0:
            raise InvalidParameters(
                f"a breakdown takes 1 to {MAX_BREAKDOWN_ROWS} rows from an offset of 0 or more"
            )
        params = {
            **self._params(environment_id, start, end, asset_id),
            "limit": limit,
            "offset": offset,
        }
        sql = text(_breakdown_sql(asset_id, descending))
        async with self._sessions() as session:
            found = (await session.execute(sql, params)).mappings().all()
        rows = [
            (row["asset_id"], Aggregate(**{name: row[name] for name in _MEASURES}))
            for row in found
            if row["asset_id"] is not None
        ]
        return Breakdown(rows, found[0]["row_count"] if found else 0)

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
    return Aggregate(**{name: getattr(row, name) for name in _MEASURES})
