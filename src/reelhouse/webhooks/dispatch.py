"""From the outbox to delivery jobs: one ``webhook_deliveries`` row and one job per enabled
endpoint of the event's environment.

Guarantees:
- exactly one dispatched delivery per (event, endpoint): a unique index, and the outbox row is
  marked dispatched (``delivered_at``) in the same transaction that creates its deliveries;
- per-object order: every delivery job of one endpoint and object shares the Procrastinate
  ``lock`` ``webhook:{endpoint}:{object_type}:{object_id}``, and Procrastinate runs jobs sharing a
  lock one at a time, oldest first. Dispatchers take a transaction-level advisory lock, so jobs
  are created in ``seq`` order even when several workers run the periodic task at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse import events
from reelhouse.db.models import OutboxEvent, WebhookDelivery, WebhookEndpoint
from reelhouse.errors import NotFound
from reelhouse.jobs.defer import AlreadyQueued, defer_job

DISPATCH_OUTBOX: Final = events.DISPATCH_TASK
DELIVER_WEBHOOK: Final = "reelhouse.deliver_webhook"
FIRST_PRIORITY: Final = 0
RETRY_PRIORITY: Final = 1
"""A retry job outranks first attempts: Procrastinate will not start a job while a job with the
same lock and a higher priority waits (even one scheduled later), so a retry keeps later events
of its object waiting behind it."""

_DISPATCH_LOCK: Final = 0x72687764_6973  # "rhwdis": one dispatcher at a time keeps seq order
BATCH: Final = 200


def delivery_lock(endpoint_id: str, object_type: str, object_id: str) -> str:
    """The Procrastinate lock serialising one endpoint's deliveries about one object."""
    return f"webhook:{endpoint_id}:{object_type}:{object_id}"


async def defer_delivery(
    session: AsyncSession,
    delivery: WebhookDelivery,
    event: OutboxEvent,
    *,
    scheduled_at: datetime | None = None,
    priority: int = FIRST_PRIORITY,
) -> int:
    """Write the job that makes the next attempt of ``delivery`` (in ``session``'s transaction)."""
    return await defer_job(
        session,
        DELIVER_WEBHOOK,
        {"delivery_id": delivery.id},
        lock=delivery_lock(delivery.endpoint_id, event.object_type, event.object_id),
        scheduled_at=scheduled_at,
        priority=priority,
    )


async def _enabled_endpoints(session: AsyncSession, environment_id: str) -> Sequence[str]:
    rows = await session.scalars(
        select(WebhookEndpoint.id)
        .where(WebhookEndpoint.environment_id == environment_id, WebhookEndpoint.enabled)
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    )
    return rows.all()


async def create_deliveries(
    session: AsyncSession,
    event: OutboxEvent,
    endpoint_ids: Sequence[str],
    *,
    now: datetime,
    replay: bool = False,
) -> list[WebhookDelivery]:
    """A pending delivery and its job for each endpoint. A dispatch (``replay=False``) skips an
    endpoint that already has this event's delivery; a replay always adds new ones."""
    created: list[WebhookDelivery] = []
    for endpoint_id in endpoint_ids:
        values = {
            "event_id": event.id,
            "endpoint_id": endpoint_id,
            "replay": replay,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        statement = insert(WebhookDelivery).values(**values)
        if not replay:
            statement = statement.on_conflict_do_nothing(
                index_elements=["event_id", "endpoint_id"], index_where=text("NOT replay")
            )
        delivery_id = await session.scalar(statement.returning(WebhookDelivery.id))
        if delivery_id is None:
            continue
        delivery = await session.get_one(WebhookDelivery, delivery_id)
        await defer_delivery(session, delivery, event)
        created.append(delivery)
    return created


async def dispatch_batch(session: AsyncSession, *, now: datetime, limit: int = BATCH) -> int:
    """Dispatch up to ``limit`` undelivered outbox events in ``seq`` order, in ``session``'s
    transaction; returns how many. Returns 0 at once while another dispatcher holds the lock."""
    locked = await session.scalar(select(func.pg_try_advisory_xact_lock(_DISPATCH_LOCK)))
    if not locked:
        return 0
    events = (
        await session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.delivered_at.is_(None))
            .order_by(OutboxEvent.seq)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    endpoints: dict[str, Sequence[str]] = {}
    for event in events:
        if event.environment_id not in endpoints:
            endpoints[event.environment_id] = await _enabled_endpoints(
                session, event.environment_id
            )
        await create_deliveries(session, event, endpoints[event.environment_id], now=now)
    if events:
        await session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_([event.id for event in events]))
            .values(delivered_at=now)
        )
    return len(events)


async def request_dispatch(session: AsyncSession) -> None:
    """Ask for a dispatch as soon as ``session`` commits (call it after appending events); a
    dispatch already waiting is enough, so a second request is dropped."""
    try:
        await defer_job(session, DISPATCH_OUTBOX, {"timestamp": 0}, queueing_lock=DISPATCH_OUTBOX)
    except AlreadyQueued:
        return


async def replay_event(
    session: AsyncSession, environment_id: str, event_id: uuid.UUID, *, now: datetime
) -> list[WebhookDelivery]:
    """New deliveries of one event to every enabled endpoint of its environment, queued behind
    that object's waiting deliveries; ``NotFound`` for an event of another environment."""
    event = await session.scalar(
        select(OutboxEvent).where(
            OutboxEvent.id == event_id, OutboxEvent.environment_id == environment_id
        )
    )
    if event is None:
        raise NotFound()
    endpoint_ids = await _enabled_endpoints(session, environment_id)
    return await create_deliveries(session, event, endpoint_ids, now=now, replay=True)
