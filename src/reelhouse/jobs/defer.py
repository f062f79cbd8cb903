"""Deferring a job inside the caller's transaction.

Procrastinate defers through its own connection pool; a state change and the job it causes must
commit together (or not at all), so this writes the job with Procrastinate's own SQL function in
the caller's SQLAlchemy session. The job becomes visible to workers when that transaction
commits; Procrastinate's insert trigger sends the NOTIFY that wakes them.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

_DEFER = text(
    "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW("
    ":queue, :task, :priority, :lock, :queueing_lock, CAST(:args AS jsonb), :scheduled_at"
    ")::procrastinate_job_to_defer_v1]))"
)


class AlreadyQueued(Exception):
    """A job with the same queueing lock is already waiting."""


async def defer_job(
    session: AsyncSession,
    task_name: str,
    args: dict[str, Any],
    *,
    queue: str = "default",
    lock: str | None = None,
    queueing_lock: str | None = None,
    priority: int = 0,
    scheduled_at: datetime | None = None,
) -> int:
    """Write one job in ``session``'s transaction and return its id.

    ``lock`` serialises jobs sharing it (in creation order); ``queueing_lock`` keeps at most one
    such job waiting and raises :class:`AlreadyQueued` for a second. A savepoint keeps the
    caller's transaction usable after that refusal.
    """
    params = {
        "queue": queue,
        "task": task_name,
        "priority": priority,
        "lock": lock,
        "queueing_lock": queueing_lock,
        "args": json.dumps(args),
        "scheduled_at": scheduled_at,
    }
    try:
        async with session.begin_nested():
            job_id = (await session.execute(_DEFER, params)).scalar_one()
    except IntegrityError as exc:
        raise AlreadyQueued(queueing_lock or task_name) from exc
    return int(job_id)
