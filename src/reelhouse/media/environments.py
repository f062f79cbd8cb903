"""Environments (tenants)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.db.models import Environment
from reelhouse.errors import NotFound

DEFAULT_ENVIRONMENT_ID: Final = "default"
DEFAULT_ENVIRONMENT_NAME: Final = "Default"


async def ensure_environment_row(session: AsyncSession, *, now: datetime) -> Environment:
    """The default environment, created (without an upload limit of its own) if missing.

    Safe when several nodes start at once: the insert is ``ON CONFLICT DO NOTHING``.
    """
    await session.execute(
        insert(Environment)
        .values(
            id=DEFAULT_ENVIRONMENT_ID,
            name=DEFAULT_ENVIRONMENT_NAME,
            max_upload_bytes=None,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[Environment.id])
    )
    return await get_environment(session, DEFAULT_ENVIRONMENT_ID)


async def ensure_default_environment(
    session: AsyncSession, *, max_upload_bytes: int | None, now: datetime | None = None
) -> Environment:
    """The default environment, created if missing, its upload limit set to ``max_upload_bytes``
    (the operator's setting is applied at every start)."""
    env = await ensure_environment_row(session, now=now or datetime.now(UTC))
    if env.max_upload_bytes != max_upload_bytes:
        env.max_upload_bytes = max_upload_bytes
        await session.flush()
    return env


async def get_environment(session: AsyncSession, environment_id: str) -> Environment:
    """The environment ``environment_id``, else ``NotFound``."""
    env = await session.scalar(
        select(Environment)
        .where(Environment.id == environment_id)
        .execution_options(populate_existing=True)
    )
    if env is None:
        raise NotFound()
    return env
