"""Gauges read from the database when ``/metrics`` is scraped: assets by status, the job queue
(depth and age of the oldest waiting job) and webhook deliveries by outcome. Reading them from
PostgreSQL makes every web node report the same numbers, whichever worker did the work."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from reelhouse.metrics import Metrics

ASSET_STATUSES = ("preparing", "ready", "errored")
DELIVERY_OUTCOMES = ("pending", "delivered", "failed")

_ASSETS = text("SELECT status, count(*) FROM assets GROUP BY status")
_JOBS = text(
    "SELECT task_name, status::text, count(*) FROM procrastinate_jobs "
    "WHERE status IN ('todo', 'doing') GROUP BY task_name, status"
)
_OLDEST = text(
    "SELECT coalesce(extract(epoch FROM now() - min(e.at)), 0) FROM procrastinate_jobs j "
    "JOIN procrastinate_events e ON e.job_id = j.id AND e.type = 'deferred' "
    "WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())"
)
_DELIVERIES = text("SELECT status, count(*) FROM webhook_deliveries GROUP BY status")


async def check(engine: AsyncEngine) -> None:
    """Raise when the database does not answer a trivial query."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def refresh(engine: AsyncEngine, metrics: Metrics) -> None:
    """Set the database-backed gauges from one short read-only transaction."""
    async with engine.connect() as conn:
        assets: dict[str, int] = dict((await conn.execute(_ASSETS)).tuples().all())
        jobs = (await conn.execute(_JOBS)).tuples().all()
        oldest = (await conn.execute(_OLDEST)).scalar_one()
        deliveries: dict[str, int] = dict((await conn.execute(_DELIVERIES)).tuples().all())
    for status in ASSET_STATUSES:
        metrics.assets.labels(status=status).set(assets.get(status, 0))
    metrics.jobs.clear()
    for task, status, count in jobs:
        metrics.jobs.labels(task=task, status=status).set(count)
    metrics.job_oldest_waiting.set(float(oldest or 0))
    for outcome in DELIVERY_OUTCOMES:
        metrics.webhook_deliveries.labels(outcome=outcome).set(deliveries.get(outcome, 0))
