"""The outbox: events written in the transaction that caused them, delivered later in ``seq``
order by the webhook dispatcher, which each append asks for (one waiting dispatch is enough)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.db.models import OutboxEvent
from reelhouse.webhooks.dispatch import request_dispatch


async def append_event(
    session: AsyncSession,
    *,
    environment_id: str,
    type: str,
    object_type: str,
    object_id: str,
    data: dict[str, Any],
    now: datetime,
) -> OutboxEvent:
    """Add one event to the session's transaction; it becomes visible when that commits."""
    event = OutboxEvent(
        id=uuid.uuid4(),
        environment_id=environment_id,
        type=type,
        object_type=object_type,
        object_id=object_id,
        data=data,
        created_at=now,
    )
    session.add(event)
    await session.flush()
    await request_dispatch(session)
    return event
