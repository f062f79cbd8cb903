"""Delivering one webhook: sign, POST through the SSRF guard, record the attempt, and either
finish the delivery or schedule its next attempt.

A retry is a new job (same lock, ``RETRY_PRIORITY``, ``scheduled_at`` set), never a raised
error, so later events of the same object keep waiting behind it and every attempt is a row in
``webhook_attempts``. Each attempt is signed anew with the current time. Delivery is at least
once: a worker that dies between the POST and recording it makes the job run again.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.db.models import (
    Environment,
    OutboxEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from reelhouse.logs import get_logger
from reelhouse.outbound import OutboundFailed, OutboundRefused, Policy, PostResult, post_json
from reelhouse.webhooks.dispatch import RETRY_PRIORITY, defer_delivery
from reelhouse.webhooks.envelope import attempt_view, encode, envelope
from reelhouse.webhooks.signatures import HEADER, sign

log = get_logger("reelhouse.webhooks")

EXCERPT_CHARS: Final = 1024
DELIVERY_TIMEOUT: Final = 10.0


class Poster(Protocol):
    """Sends one webhook: :func:`reelhouse.outbound.post_json`'s shape. Returns the answer
    whatever its status; raises ``OutboundRefused``/``OutboundFailed`` when there is none."""

    def __call__(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        policy: Policy,
        timeout: float | None = None,
    ) -> Awaitable[PostResult]: ...


@dataclass(frozen=True)
class RetrySchedule:
    """Exponential backoff with jitter: attempt ``n`` (1-based) failing waits ``base·2^(n-1)``
    seconds, capped at ``cap``, scaled by a factor in [0.75, 1.25); a delivery whose next
    attempt would fall more than ``window`` after it was created fails instead."""

    base: float = 5.0
    cap: float = 3600.0
    window: timedelta = timedelta(hours=24)

    def delay(self, attempt: int, jitter: float) -> timedelta:
        """The wait after failed attempt ``attempt``; ``jitter`` is uniform in [0, 1)."""
        raw = min(self.cap, self.base * 2.0 ** min(attempt - 1, 62))
        return timedelta(seconds=raw * (0.75 + 0.5 * jitter))

    def max_attempts(self) -> int:
        """How many attempts fit in the window without jitter (what ``attempts[]`` reports)."""
        elapsed, count = 0.0, 1
        while True:
            elapsed += self.delay(count, 0.5).total_seconds()
            if elapsed > self.window.total_seconds():
                return count
            count += 1


def _default_trusted() -> Policy:
    return Policy(allow_private=True)


@dataclass(frozen=True)
class WebhookDeps:
    """What delivery needs. ``policy`` guards endpoints added through the API; operator-trusted
    endpoints (the one from ``REELHOUSE_WEBHOOK_URL``) use ``trusted_policy``, which may reach
    private and loopback addresses. ``random`` is uniform in [0, 1) (jitter)."""

    sessions: async_sessionmaker[AsyncSession]
    clock: Callable[[], datetime]
    random: Callable[[], float]
    policy: Policy = field(default_factory=Policy)
    trusted_policy: Policy = field(default_factory=_default_trusted)
    post: Poster = post_json
    timeout: float = DELIVERY_TIMEOUT
    schedule: RetrySchedule = field(default_factory=RetrySchedule)


@dataclass(frozen=True)
class _Outgoing:
    url: str
    secret: str
    body: bytes
    policy: Policy


@dataclass(frozen=True)
class _Answer:
    status_code: int | None
    latency_ms: int | None
    error: str | None
    excerpt: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def _prepare(
    session: AsyncSession, deps: WebhookDeps, delivery: WebhookDelivery, now: datetime
) -> _Outgoing | None:
    endpoint = await session.get_one(WebhookEndpoint, delivery.endpoint_id)
    if not endpoint.enabled:
        _finish(delivery, "failed", now, error="The endpoint is disabled.")
        return None
    event = await session.get_one(OutboxEvent, delivery.event_id)
    environment = await session.get_one(Environment, event.environment_id)
    earlier = await session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == delivery.id)
        .order_by(WebhookAttempt.attempt)
    )
    most = deps.schedule.max_attempts()
    views = [attempt_view(attempt, endpoint, most) for attempt in earlier]
    policy = deps.trusted_policy if endpoint.operator_trusted else deps.policy
    body = encode(envelope(event, environment, views))
    return _Outgoing(endpoint.url, endpoint.secret, body, policy)


def _finish(delivery: WebhookDelivery, status: str, now: datetime, *, error: str | None) -> None:
    delivery.status = status
    delivery.next_attempt_at = None
    delivery.updated_at = now
    if error is not None:
        delivery.last_error = error


async def _send(deps: WebhookDeps, outgoing: _Outgoing) -> _Answer:
    timestamp = math.floor(deps.clock().timestamp())
    headers = {HEADER: sign(outgoing.secret, outgoing.body, timestamp)}
    try:
        result = await deps.post(
            outgoing.url, outgoing.body, headers, outgoing.policy, deps.timeout
        )
    except (OutboundRefused, OutboundFailed) as exc:
        return _Answer(getattr(exc, "status", None), None, f"{exc.reason}: {exc.message}", None)
    excerpt = result.body_excerpt.decode("utf-8", "replace").replace("\x00", "\ufffd")
    error = None if 200 <= result.status < 300 else f"HTTP {result.status}"
    return _Answer(result.status, round(result.elapsed * 1000), error, excerpt[:EXCERPT_CHARS])


async def _record(
    session: AsyncSession, deps: WebhookDeps, delivery: WebhookDelivery, answer: _Answer
) -> None:
    now = deps.clock()
    number = delivery.attempts + 1
    session.add(
        WebhookAttempt(
            delivery_id=delivery.id,
            attempt=number,
            status_code=answer.status_code,
            latency_ms=answer.latency_ms,
            error=answer.error,
            response_excerpt=answer.excerpt,
            created_at=now,
        )
    )
    delivery.attempts = number
    delivery.last_status_code = answer.status_code
    delivery.last_latency_ms = answer.latency_ms
    delivery.last_error = answer.error
    if answer.ok:
        _finish(delivery, "delivered", now, error=None)
        return
    retry_at = now + deps.schedule.delay(number, deps.random())
    if retry_at > delivery.created_at + deps.schedule.window:
        _finish(delivery, "failed", now, error=None)
        return
    delivery.next_attempt_at = retry_at
    delivery.updated_at = now
    event = await session.get_one(OutboxEvent, delivery.event_id)
    await defer_delivery(session, delivery, event, scheduled_at=retry_at, priority=RETRY_PRIORITY)


async def _pending(session: AsyncSession, delivery_id: int) -> WebhookDelivery | None:
    delivery = await session.get(
        WebhookDelivery, delivery_id, with_for_update=True, populate_existing=True
    )
    return delivery if delivery is not None and delivery.status == "pending" else None


async def deliver(deps: WebhookDeps, delivery_id: int) -> str | None:
    """Make the next attempt of delivery ``delivery_id``; returns its status afterwards, or
    ``None`` when there was nothing to do (gone, or no longer pending). Idempotent: a finished
    delivery is never sent again."""
    async with deps.sessions.begin() as session:
        delivery = await _pending(session, delivery_id)
        if delivery is None:
            return None
        outgoing = await _prepare(session, deps, delivery, deps.clock())
        if outgoing is None:
            log.info("webhook.skipped", delivery_id=delivery_id, reason="endpoint_disabled")
            return delivery.status
    # No transaction is held while the endpoint answers (up to the timeout).
    answer = await _send(deps, outgoing)
    async with deps.sessions.begin() as session:
        delivery = await _pending(session, delivery_id)
        if delivery is None:
            return None
        await _record(session, deps, delivery, answer)
        status = delivery.status
        log.info(
            "webhook.attempted",
            delivery_id=delivery_id,
            endpoint_id=delivery.endpoint_id,
            attempt=delivery.attempts,
            status_code=answer.status_code,
            outcome=status,
            error=answer.error,
        )
    return status
