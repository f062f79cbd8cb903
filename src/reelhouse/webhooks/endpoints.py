"""Webhook endpoint use cases: add, list, change, remove, rotate a secret, read the delivery
log (per endpoint, or about some objects), and keep the operator's default endpoint in step with
the settings.

Every function works inside the caller's transaction and is scoped to one environment: another
environment's endpoint answers ``NotFound``. A secret leaves this module only on creation and
rotation, through :func:`endpoint_view` with ``with_secret=True``.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Select, delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.db.models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from reelhouse.errors import InvalidParameters, NotFound
from reelhouse.ids import RandomBytes, new_id, new_secret
from reelhouse.outbound import (
    OutboundFailed,
    Policy,
    Resolver,
    check_addresses,
    check_url,
    system_resolver,
)
from reelhouse.webhooks.envelope import iso

MAX_URL_LENGTH: Final = 2048


async def validate_url(url: str, policy: Policy, resolver: Resolver = system_resolver) -> str:
    """``url`` when it is an http(s) URL the guard would send to: ``InvalidParameters`` (an
    ``OutboundRefused`` among them) otherwise. A name that does not resolve yet is accepted;
    every delivery is vetted again when it connects."""
    if not url or len(url) > MAX_URL_LENGTH:
        raise InvalidParameters(f"url must be 1 to {MAX_URL_LENGTH} characters")
    parsed = check_url(url, policy)
    if parsed.userinfo:
        raise InvalidParameters("url must not contain credentials")
    try:
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        addresses = await resolver(parsed.host, port)
    except OutboundFailed:
        return url
    check_addresses(parsed.host, addresses, policy)
    return url


async def get_endpoint(
    session: AsyncSession, environment_id: str, endpoint_id: str
) -> WebhookEndpoint:
    """The endpoint, else ``NotFound`` (also for another environment's)."""
    endpoint = await session.scalar(
        select(WebhookEndpoint).where(
            WebhookEndpoint.id == endpoint_id, WebhookEndpoint.environment_id == environment_id
        )
    )
    if endpoint is None:
        raise NotFound()
    return endpoint


async def create_endpoint(
    session: AsyncSession,
    environment_id: str,
    url: str,
    *,
    now: datetime,
    enabled: bool = True,
    random_bytes: RandomBytes = secrets.token_bytes,
) -> WebhookEndpoint:
    """A new endpoint with a fresh signing secret. ``url`` must already be validated."""
    endpoint = WebhookEndpoint(
        id=new_id(random_bytes),
        environment_id=environment_id,
        url=url,
        secret=new_secret(random_bytes),
        enabled=enabled,
        operator_trusted=False,
        created_at=now,
        updated_at=now,
    )
    session.add(endpoint)
    await session.flush()
    return endpoint


async def list_endpoints(
    session: AsyncSession, environment_id: str, limit: int = 100, page: int = 1
) -> Sequence[WebhookEndpoint]:
    """Page ``page`` (from 1) of the environment's endpoints, oldest first."""
    result = await session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.environment_id == environment_id)
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
        .limit(limit)
        .offset((page - 1) * limit)
    )
    return result.all()


async def update_endpoint(
    session: AsyncSession,
    environment_id: str,
    endpoint_id: str,
    *,
    now: datetime,
    url: str | None = None,
    enabled: bool | None = None,
) -> WebhookEndpoint:
    """Change the URL (already validated) and/or whether events are sent to it."""
    endpoint = await get_endpoint(session, environment_id, endpoint_id)
    if url is not None:
        endpoint.url = url
    if enabled is not None:
        endpoint.enabled = enabled
    endpoint.updated_at = now
    await session.flush()
    return endpoint


async def delete_endpoint(session: AsyncSession, environment_id: str, endpoint_id: str) -> None:
    """Remove the endpoint and its delivery log; its waiting jobs find nothing and stop."""
    endpoint = await get_endpoint(session, environment_id, endpoint_id)
    await session.execute(delete(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id))


async def rotate_secret(
    session: AsyncSession,
    environment_id: str,
    endpoint_id: str,
    *,
    now: datetime,
    random_bytes: RandomBytes = secrets.token_bytes,
) -> WebhookEndpoint:
    """A new signing secret; attempts from now on are signed with it."""
    endpoint = await get_endpoint(session, environment_id, endpoint_id)
    endpoint.secret = new_secret(random_bytes)
    endpoint.updated_at = now
    await session.flush()
    return endpoint


async def ensure_default_endpoint(
    session: AsyncSession,
    environment_id: str,
    url: str,
    secret: str | None,
    *,
    now: datetime,
    random_bytes: RandomBytes = secrets.token_bytes,
) -> WebhookEndpoint:
    """The operator's endpoint (``REELHOUSE_WEBHOOK_URL``/``_SECRET``) of ``environment_id``,
    created or brought up to date: one per environment, operator-trusted (it may be on a
    private network), enabled. Without ``secret`` an existing one is kept, or one is made.
    Safe when several nodes start at once (an upsert)."""
    statement = insert(WebhookEndpoint).values(
        id=new_id(random_bytes),
        environment_id=environment_id,
        url=url,
        secret=secret or new_secret(random_bytes),
        enabled=True,
        operator_trusted=True,
        created_at=now,
        updated_at=now,
    )
    changes: dict[str, Any] = {"url": url, "enabled": True, "updated_at": now}
    if secret:
        changes["secret"] = secret
    endpoint_id = await session.scalar(
        statement.on_conflict_do_update(
            index_elements=["environment_id"],
            index_where=text("operator_trusted"),
            set_=changes,
        ).returning(WebhookEndpoint.id)
    )
    return await session.get_one(WebhookEndpoint, endpoint_id, populate_existing=True)


@dataclass(frozen=True)
class DeliveryRecord:
    """One delivery, the event it carries and every attempt so far (oldest first)."""

    delivery: WebhookDelivery
    event: OutboxEvent
    attempts: Sequence[WebhookAttempt]


async def list_deliveries(
    session: AsyncSession, environment_id: str, endpoint_id: str, limit: int = 25, page: int = 1
) -> list[DeliveryRecord]:
    """Page ``page`` of the endpoint's delivery log, newest first."""
    endpoint = await get_endpoint(session, environment_id, endpoint_id)
    return await _records(
        session,
        select(WebhookDelivery, OutboxEvent)
        .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
        .offset((page - 1) * limit),
    )


async def deliveries_about(
    session: AsyncSession, environment_id: str, object_ids: Sequence[str], limit: int = 25
) -> list[DeliveryRecord]:
    """The latest ``limit`` deliveries, to any endpoint of ``environment_id``, of events about
    the objects ``object_ids`` (an asset and its upload, say), newest first."""
    if not object_ids:
        return []
    return await _records(
        session,
        select(WebhookDelivery, OutboxEvent)
        .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
        .where(
            OutboxEvent.environment_id == environment_id,
            OutboxEvent.object_id.in_(list(object_ids)),
        )
        .order_by(WebhookDelivery.id.desc())
        .limit(limit),
    )


async def _records(
    session: AsyncSession, query: Select[WebhookDelivery, OutboxEvent]
) -> list[DeliveryRecord]:
    """The deliveries ``query`` selects, each with its attempts in order."""
    rows = (await session.execute(query)).all()
    attempts: dict[int, list[WebhookAttempt]] = {delivery.id: [] for delivery, _ in rows}
    if attempts:
        found = await session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(list(attempts)))
            .order_by(WebhookAttempt.delivery_id, WebhookAttempt.attempt)
        )
        for attempt in found:
            attempts[attempt.delivery_id].append(attempt)
    return [DeliveryRecord(d, e, attempts[d.id]) for d, e in rows]


def parse_event_id(value: str) -> uuid.UUID:
    """An event id from the wire; ``NotFound`` when it is not a UUID (it names nothing)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound() from None


def endpoint_view(endpoint: WebhookEndpoint, *, with_secret: bool = False) -> dict[str, Any]:
    """The wire form (``address`` is Mux's name for ``url``); the secret only when asked."""
    view: dict[str, Any] = {
        "id": endpoint.id,
        "url": endpoint.url,
        "address": endpoint.url,
        "enabled": endpoint.enabled,
        "operator_trusted": endpoint.operator_trusted,
        "created_at": iso(endpoint.created_at),
        "updated_at": iso(endpoint.updated_at),
    }
    if with_secret:
        view["signing_secret"] = endpoint.secret
    return view


def delivery_view(record: DeliveryRecord) -> dict[str, Any]:
    """One line of the delivery log in wire form."""
    delivery, event = record.delivery, record.event
    return {
        "id": str(delivery.id),
        "event_id": str(event.id),
        "type": event.type,
        "object": {"type": event.object_type, "id": event.object_id},
        "status": delivery.status,
        "replay": delivery.replay,
        "attempt_count": delivery.attempts,
        "next_attempt_at": iso(delivery.next_attempt_at) if delivery.next_attempt_at else None,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "last_latency_ms": delivery.last_latency_ms,
        "created_at": iso(delivery.created_at),
        "updated_at": iso(delivery.updated_at),
        "attempts": [
            {
                "attempt": attempt.attempt,
                "status_code": attempt.status_code,
                "latency_ms": attempt.latency_ms,
                "error": attempt.error,
                "response_body": attempt.response_excerpt,
                "created_at": iso(attempt.created_at),
            }
            for attempt in record.attempts
        ],
    }
