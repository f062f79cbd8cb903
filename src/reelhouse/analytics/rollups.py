"""Daily rollups: one row per (environment, UTC day, asset) plus the environment's total over
every asset (``asset_id = ''``, since percentiles of parts do not combine), computed from the
``views`` rows by one SQL statement.

Recomputing a day deletes its rows and inserts them again in one transaction, so running it
twice, or on two workers at once (a transaction-scoped advisory lock serialises them), leaves
the same table. :data:`AGGREGATES` is the one definition of every metric; the data API's ``overall``
answers use it too, so a rollup and a live answer over the same views agree.

A view that never showed a frame and never errored counts as an exit before video start once
it has ``ended``, or once its player has been silent for :data:`ABANDONED_AFTER`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

ABANDONED_AFTER: Final = timedelta(minutes=5)

AGGREGATES: Final = """
    count(*) AS views,
    count(DISTINCT (viewer_hash, (started_at AT TIME ZONE 'UTC')::date)) AS unique_viewers,
    coalesce(sum(watch_seconds), 0) AS watch_seconds,
    coalesce(sum(rebuffer_seconds), 0) AS rebuffer_seconds,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY first_frame_ms) AS startup_p50_ms,
    percentile_cont(0.95) WITHIN GROUP (ORDER BY first_frame_ms) AS startup_p95_ms,
    sum(rebuffer_seconds) / nullif(sum(watch_seconds), 0) AS rebuffer_percentage,
    avg(CASE WHEN errored THEN 1.0 ELSE 0.0 END)::float8 AS failure_percentage,
    count(*) FILTER (
        WHERE exited_before_start
           OR (first_frame_ms IS NULL AND NOT errored AND last_beacon_at < :abandoned_before)
    ) AS exits_before_start
"""

_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('reelhouse.daily_rollups'))")
_DELETE = text("DELETE FROM daily_rollups WHERE day = :day")
_INSERT = text(
    f"""
    INSERT INTO daily_rollups (
        day, environment_id, asset_id, views, unique_viewers, watch_seconds, rebuffer_seconds,
        startup_p50_ms, startup_p95_ms, rebuffer_percentage, failure_percentage,
        exits_before_start, computed_at
    )
    SELECT :day, environment_id, coalesce(asset_id, ''), {AGGREGATES}, :now
    FROM views
    WHERE started_at >= :start AND started_at < :end
    GROUP BY GROUPING SETS ((environment_id, asset_id), (environment_id))
    """
)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants a ``day`` starts and ends (half-open)."""
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return start, start + timedelta(days=1)


async def recompute_day(session: AsyncSession, day: date, *, now: datetime) -> int:
    """Replace ``day``'s rollups with ones computed from its views (by ``started_at``);
    returns how many rows it wrote."""
    start, end = day_bounds(day)
    await session.execute(_LOCK)
    await session.execute(_DELETE, {"day": day})
    result = await session.execute(
        _INSERT,
        {
            "day": day,
            "start": start,
            "end": end,
            "now": now,
            "abandoned_before": now - ABANDONED_AFTER,
        },
    )
    return int(getattr(result, "rowcount", 0) or 0)


def recent_days(now: datetime) -> tuple[date, date]:
    """Yesterday and today (UTC) as of ``now``: the days beacons may still change."""
    today = now.astimezone(UTC).date()
    return today - timedelta(days=1), today
