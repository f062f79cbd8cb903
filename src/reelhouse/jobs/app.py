"""The Procrastinate app: the job queue on reelhouse's own PostgreSQL.

Only the connection is set here; tasks are registered by the worker's composition root
(:func:`reelhouse.worker.main.register_tasks`), so importing this module starts nothing.
"""

from __future__ import annotations

import procrastinate

from reelhouse.db.engine import libpq_url


def build_job_app(database_url: str, *, max_pool_size: int = 10) -> procrastinate.App:
    """A Procrastinate app on ``database_url`` (any form :mod:`reelhouse.db.engine` accepts).

    The app is closed: open it with ``async with app.open_async()`` to defer jobs, or let
    :func:`reelhouse.worker.main.run_worker` open it.
    """
    connector = procrastinate.PsycopgConnector(
        conninfo=libpq_url(database_url), min_size=1, max_size=max_pool_size
    )
    return procrastinate.App(connector=connector)
