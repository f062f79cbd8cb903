"""Delivery against a real receiver on 127.0.0.1 that checks every signature with our verifier."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.db.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from reelhouse.jobs.app import build_job_app
from reelhouse.webhooks import endpoints
from reelhouse.webhooks.delivery import RetrySchedule, WebhookDeps, deliver
from reelhouse.webhooks.dispatch import DELIVER_WEBHOOK, delivery_lock
from reelhouse.worker.webhook_tasks import dispatch_outbox_once, register_webhook_tasks
from tests.unit.webhooks.conftest import SECRET, T0, Clock, Receiver, add_event

Sessions = async_sessionmaker[AsyncSession]


async def setup(
    sessions: Sessions, env: str, receiver: Receiver, clock: Clock
) -> tuple[WebhookDeps, WebhookEndpoint]:
    receiver.now = lambda: clock().timestamp()
    async with sessions.begin() as session:
        endpoint = await endpoints.ensure_default_endpoint(
            session, env, receiver.url, SECRET, now=clock()
        )
    deps = WebhookDeps(sessions=sessions, clock=clock, random=lambda: 0.5)
    return deps, endpoint


async def dispatched(deps: WebhookDeps, env: str, **event: Any) -> int:
    await add_event(deps.sessions, env, now=deps.clock(), **event)
    await dispatch_outbox_once(deps)
    async with deps.sessions() as session:
        return int(
            await session.scalar(
                select(WebhookDelivery.id)
                .join(WebhookEndpoint)
                .where(WebhookEndpoint.environment_id == env)
                .order_by(WebhookDelivery.id.desc())
                .limit(1)
            )
            or 0
        )


async def state(sessions: Sessions, delivery_id: int) -> tuple[WebhookDelivery, list[Any]]:
    async with sessions() as session:
        delivery = await session.get_one(WebhookDelivery, delivery_id)
        attempts = list(
            await session.scalars(
                select(WebhookAttempt)
                .where(WebhookAttempt.delivery_id == delivery_id)
                .order_by(WebhookAttempt.attempt)
            )
        )
        return delivery, attempts


async def jobs(sessions: Sessions, delivery_id: int) -> list[dict[str, Any]]:
    async with sessions() as session:
        rows = await session.execute(
            text(
                "SELECT lock, priority, scheduled_at FROM procrastinate_jobs WHERE task_name = :t"
                " AND (args->>'delivery_id')::bigint = :d ORDER BY id"
            ),
            {"t": DELIVER_WEBHOOK, "d": delivery_id},
        )
        return [dict(row._mapping) for row in rows]


async def test_success_is_signed_and_recorded(
    wh_sessions: Sessions, env_id: str, receiver: Receiver
) -> None:
    clock = Clock()
    deps, _ = await setup(wh_sessions, env_id, receiver, clock)
    delivery_id = await dispatched(deps, env_id, data={"id": "asset1", "status": "ready"})

    assert await deliver(deps, delivery_id) == "delivered"

    [got] = receiver.requests
    assert got.verified == "ok"
    assert got.headers["mux-signature"].startswith(f"t={int(T0.timestamp())},v1=")
    assert got.headers["content-type"] == "application/json"
    payload = got.json
    assert payload["type"] == "video.asset.ready"
    assert payload["object"] == {"type": "asset", "id": "asset1"}
    assert payload["environment"] == {"name": "Development", "id": env_id}
    assert payload["data"] == {"id": "asset1", "status": "ready"}
    assert payload["attempts"] == []
    delivery, [attempt] = await state(wh_sessions, delivery_id)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)
    assert delivery.next_attempt_at is None
    assert (attempt.status_code, attempt.response_excerpt, attempt.error) == (
        200,
        "status 200",
        None,
    )
    assert attempt.latency_ms is not None and attempt.latency_ms >= 0
    # Idempotent: a second run of the job sends nothing.
    assert await deliver(deps, delivery_id) is None
    assert len(receiver.requests) == 1


async def test_failure_schedules_a_retry_with_backoff_then_succeeds(
    wh_sessions: Sessions, env_id: str, receiver: Receiver
) -> None:
    clock = Clock()
    deps, endpoint = await setup(wh_sessions, env_id, receiver, clock)
    delivery_id = await dispatched(deps, env_id)
    receiver.answer(500, 503)

    assert await deliver(deps, delivery_id) == "pending"
    delivery, [_first] = await state(wh_sessions, delivery_id)
    assert (delivery.attempts, delivery.last_status_code, delivery.last_error) == (
        1,
        500,
        "HTTP 500",
    )
    assert delivery.next_attempt_at == T0 + timedelta(seconds=5)
    queued = await jobs(wh_sessions, delivery_id)
    assert [(j["priority"], j["scheduled_at"]) for j in queued] == [
        (0, None),
        (1, T0 + timedelta(seconds=5)),
    ]
    assert {j["lock"] for j in queued} == {delivery_lock(endpoint.id, "asset", "asset1")}

    clock.advance(5)
    assert await deliver(deps, delivery_id) == "pending"
    delivery, _ = await state(wh_sessions, delivery_id)
    assert delivery.next_attempt_at == clock() + timedelta(seconds=10)

    clock.advance(10)
    assert await deliver(deps, delivery_id) == "delivered"
    stamps = [r.headers["mux-signature"].split(",")[0] for r in receiver.requests]
    assert stamps == [f"t={int(T0.timestamp()) + s}" for s in (0, 5, 15)]  # fresh t each time
    assert all(r.verified == "ok" for r in receiver.requests)
    last = receiver.requests[-1].json
    assert [a["response_status_code"] for a in last["attempts"]] == [500, 503]
    assert {a["address"] for a in last["attempts"]} == {receiver.url}
    assert {r.json["id"] for r in receiver.requests} == {last["id"]}  # same event id


async def test_gives_up_24_hours_after_the_delivery_was_made(
    wh_sessions: Sessions, env_id: str, receiver: Receiver
) -> None:
    clock = Clock()
    deps, _ = await setup(wh_sessions, env_id, receiver, clock)
    delivery_id = await dispatched(deps, env_id)
    receiver.answer(500, 500)
    assert await deliver(deps, delivery_id) == "pending"

    clock.advance(24 * 3600 - 5)  # the next wait (10 s) would end past the window
    assert await deliver(deps, delivery_id) == "failed"
    delivery, attempts = await state(wh_sessions, delivery_id)
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 2, None)
    assert len(attempts) == 2
    assert len(await jobs(wh_sessions, delivery_id)) == 2  # the first job and one retry
    assert await deliver(deps, delivery_id) is None


def test_backoff_schedule() -> None:
    schedule = RetrySchedule()
    assert [schedule.delay(n, 0.5).total_seconds() for n in (1, 2, 3, 4, 11, 12, 60)] == [
        5,
        10,
        20,
        40,
        3600,
        3600,
        3600,
    ]
    assert schedule.delay(1, 0.0).total_seconds() == 3.75
    assert schedule.delay(1, 0.999).total_seconds() < 6.25
    assert 25 <= schedule.max_attempts() <= 40


async def test_private_address_is_refused_for_api_endpoints(
    wh_sessions: Sessions, env_id: str, receiver: Receiver
) -> None:
    clock = Clock()
    deps, trusted = await setup(wh_sessions, env_id, receiver, clock)
    async with wh_sessions.begin() as session:
        await endpoints.update_endpoint(session, env_id, trusted.id, now=T0, enabled=False)
        await endpoints.create_endpoint(session, env_id, receiver.url, now=T0)
    delivery_id = await dispatched(deps, env_id)

    assert await deliver(deps, delivery_id) == "pending"
    _, [attempt] = await state(wh_sessions, delivery_id)
    assert attempt.status_code is None
    assert attempt.error is not None and attempt.error.startswith("loopback:")
    assert receiver.requests == []


async def test_disabled_endpoint_fails_its_waiting_deliveries(
    wh_sessions: Sessions, env_id: str, receiver: Receiver
) -> None:
    clock = Clock()
    deps, endpoint = await setup(wh_sessions, env_id, receiver, clock)
    delivery_id = await dispatched(deps, env_id)
    async with wh_sessions.begin() as session:
        await endpoints.update_endpoint(session, env_id, endpoint.id, now=T0, enabled=False)
    assert await deliver(deps, delivery_id) == "failed"
    delivery, attempts = await state(wh_sessions, delivery_id)
    assert delivery.last_error == "The endpoint is disabled." and attempts == []
    assert receiver.requests == []


async def test_deleted_endpoint_leaves_nothing_to_do(
    wh_sessions: Sessions, env_id: str, receiver: Receiver
) -> None:
    clock = Clock()
    deps, endpoint = await setup(wh_sessions, env_id, receiver, clock)
    delivery_id = await dispatched(deps, env_id)
    async with wh_sessions.begin() as session:
        await endpoints.delete_endpoint(session, env_id, endpoint.id)
    assert await deliver(deps, delivery_id) is None


async def test_worker_keeps_order_per_object_across_retries(
    wh_database_url: str, wh_sessions: Sessions, env_id: str, receiver: Receiver
) -> None:
    clock = lambda: datetime.now(UTC)  # noqa: E731 - Procrastinate schedules on real time
    deps, _ = await setup(wh_sessions, env_id, receiver, Clock())
    receiver.now = time.time
    deps = WebhookDeps(
        sessions=wh_sessions,
        clock=clock,
        random=lambda: 0.5,
        schedule=RetrySchedule(base=0.3),
    )
    for n in range(4):
        await add_event(wh_sessions, env_id, object_id="x", type=f"video.asset.e{n}", now=clock())
        await add_event(wh_sessions, env_id, object_id="y", type=f"video.asset.e{n}", now=clock())
    await dispatch_outbox_once(deps)
    receiver.answer(503, 503)  # the first two requests fail (one object's, or one of each)

    app = build_job_app(wh_database_url)
    register_webhook_tasks(app, deps)
    async with app.open_async():
        worker = asyncio.create_task(
            app.run_worker_async(
                concurrency=4, install_signal_handlers=False, fetch_job_polling_interval=0.05
            )
        )
        try:
            async with asyncio.timeout(30):
                while True:
                    async with wh_sessions() as session:
                        waiting = await session.scalar(
                            select(WebhookDelivery.id)
                            .join(WebhookEndpoint)
                            .where(
                                WebhookEndpoint.environment_id == env_id,
                                WebhookDelivery.status != "delivered",
                            )
                        )
                    if waiting is None:
                        break
                    await asyncio.sleep(0.05)
        finally:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)

    assert all(r.verified == "ok" for r in receiver.requests)
    for object_id in ("x", "y"):
        seen = [r.json["type"] for r in receiver.requests if r.json["object"]["id"] == object_id]
        # Duplicates only from retries, and never out of order.
        assert list(dict.fromkeys(seen)) == [f"video.asset.e{n}" for n in range(4)]
        assert seen == sorted(seen)
    assert len(receiver.requests) == 10
