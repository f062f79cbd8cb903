"""Dispatch: outbox events become one delivery (and one job) per enabled endpoint, once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.db.models import OutboxEvent, WebhookDelivery
from reelhouse.webhooks import endpoints
from reelhouse.webhooks.delivery import WebhookDeps
from reelhouse.webhooks.dispatch import (
    DELIVER_WEBHOOK,
    DISPATCH_OUTBOX,
    create_deliveries,
    delivery_lock,
    replay_event,
    request_dispatch,
)
from reelhouse.worker.webhook_tasks import dispatch_outbox_once
from tests.unit.webhooks.conftest import T0, Clock, add_event

Sessions = async_sessionmaker[AsyncSession]


async def add_endpoints(sessions: Sessions, env: str, count: int) -> list[str]:
    ids = []
    async with sessions.begin() as session:
        for n in range(count):
            row = await endpoints.create_endpoint(
                session, env, f"https://hooks{n}.example.com/", now=T0
            )
            ids.append(row.id)
    return ids


async def jobs_of(sessions: Sessions, delivery_ids: list[int]) -> list[dict[str, Any]]:
    async with sessions() as session:
        rows = await session.execute(
            text(
                "SELECT id, task_name, lock, priority, scheduled_at, args FROM procrastinate_jobs"
                " WHERE task_name = :task AND (args->>'delivery_id')::bigint = ANY(:ids)"
                " ORDER BY id"
            ),
            {"task": DELIVER_WEBHOOK, "ids": delivery_ids},
        )
        return [dict(row._mapping) for row in rows]


async def deliveries_of(sessions: Sessions, env: str) -> list[WebhookDelivery]:
    async with sessions() as session:
        rows = await session.scalars(
            select(WebhookDelivery)
            .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
            .where(OutboxEvent.environment_id == env)
            .order_by(WebhookDelivery.id)
        )
        return list(rows)


def deps(sessions: Sessions) -> WebhookDeps:
    return WebhookDeps(sessions=sessions, clock=Clock(), random=lambda: 0.5)


async def test_one_delivery_and_job_per_enabled_endpoint(
    wh_sessions: Sessions, env_id: str
) -> None:
    enabled = await add_endpoints(wh_sessions, env_id, 2)
    async with wh_sessions.begin() as session:
        off = await endpoints.create_endpoint(
            session, env_id, "https://off.example.com/", now=T0, enabled=False
        )
    first = await add_event(wh_sessions, env_id, object_id="a1")
    second = await add_event(wh_sessions, env_id, object_id="a1", type="video.asset.updated")

    assert await dispatch_outbox_once(deps(wh_sessions)) >= 2

    made = await deliveries_of(wh_sessions, env_id)
    low, high = sorted(enabled)  # same created_at: endpoints are taken in id order
    assert [(d.event_id, d.endpoint_id) for d in made] == [
        (first, low),
        (first, high),
        (second, low),
        (second, high),
    ]
    assert off.id not in {d.endpoint_id for d in made}
    assert all(d.status == "pending" and d.attempts == 0 for d in made)
    jobs = await jobs_of(wh_sessions, [d.id for d in made])
    assert [job["args"]["delivery_id"] for job in jobs] == [d.id for d in made]  # seq order
    assert [job["lock"] for job in jobs] == [
        delivery_lock(d.endpoint_id, "asset", "a1") for d in made
    ]
    assert {job["priority"] for job in jobs} == {0}
    async with wh_sessions() as session:
        marked = await session.scalars(
            select(OutboxEvent.delivered_at).where(OutboxEvent.id.in_([first, second]))
        )
        assert all(moment == T0 for moment in marked)
    assert await dispatch_outbox_once(deps(wh_sessions)) == 0


async def test_events_without_endpoints_are_marked_dispatched(
    wh_sessions: Sessions, env_id: str
) -> None:
    event = await add_event(wh_sessions, env_id)
    await dispatch_outbox_once(deps(wh_sessions))
    async with wh_sessions() as session:
        row = await session.get_one(OutboxEvent, event)
    assert row.delivered_at is not None
    assert await deliveries_of(wh_sessions, env_id) == []


async def test_concurrent_dispatchers_dispatch_each_event_once(
    wh_sessions: Sessions, env_id: str
) -> None:
    await add_endpoints(wh_sessions, env_id, 3)
    for n in range(30):
        await add_event(wh_sessions, env_id, object_id=f"a{n % 4}")

    results = await asyncio.gather(*(dispatch_outbox_once(deps(wh_sessions)) for _ in range(4)))

    assert sum(results) == 30
    made = await deliveries_of(wh_sessions, env_id)
    assert len(made) == 90
    assert len({(d.event_id, d.endpoint_id) for d in made}) == 90
    jobs = await jobs_of(wh_sessions, [d.id for d in made])
    assert len(jobs) == 90
    # Jobs were created in delivery (= seq) order, so each lock's queue is in event order.
    assert [job["args"]["delivery_id"] for job in jobs] == sorted(d.id for d in made)


async def test_create_deliveries_twice_makes_nothing_new(
    wh_sessions: Sessions, env_id: str
) -> None:
    [endpoint] = await add_endpoints(wh_sessions, env_id, 1)
    event_id = await add_event(wh_sessions, env_id)
    async with wh_sessions.begin() as session:
        event = await session.get_one(OutboxEvent, event_id)
        once = await create_deliveries(session, event, [endpoint], now=T0)
        twice = await create_deliveries(session, event, [endpoint], now=T0)
    assert len(once) == 1
    assert twice == []


async def test_replay_adds_new_deliveries_behind_the_object_queue(
    wh_sessions: Sessions, env_id: str
) -> None:
    await add_endpoints(wh_sessions, env_id, 2)
    event_id = await add_event(wh_sessions, env_id)
    await dispatch_outbox_once(deps(wh_sessions))
    later = datetime(2026, 11, 26, tzinfo=UTC)
    async with wh_sessions.begin() as session:
        replayed = await replay_event(session, env_id, event_id, now=later)
    assert len(replayed) == 2
    made = await deliveries_of(wh_sessions, env_id)
    assert len(made) == 4
    assert [d.replay for d in made] == [False, False, True, True]
    assert {d.created_at for d in made if d.replay} == {later}
    assert len(await jobs_of(wh_sessions, [d.id for d in made])) == 4


async def test_request_dispatch_keeps_one_waiting(wh_sessions: Sessions) -> None:
    async with wh_sessions.begin() as session:
        await request_dispatch(session)
        await request_dispatch(session)
    async with wh_sessions() as session:
        waiting = await session.scalar(
            text(
                "SELECT count(*) FROM procrastinate_jobs"
                " WHERE task_name = :task AND status = 'todo'"
            ),
            {"task": DISPATCH_OUTBOX},
        )
    assert waiting == 1
