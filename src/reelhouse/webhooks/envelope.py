"""The JSON a webhook endpoint receives, in Mux's shape: pure functions over rows, no I/O.

``{"type", "object": {"type", "id"}, "id", "environment": {"name", "id"}, "data", "created_at",
"attempts", "accessor", "accessor_source", "request_id"}``. ``id`` is the event's id, the same
on every attempt and every replay, so receivers deduplicate on it. ``attempts`` lists the earlier
attempts of this delivery, in the SDK's ``{id, address, created_at, max_attempts, response_body,
response_headers, response_status_code, webhook_id}`` shape.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from reelhouse.db.models import Environment, OutboxEvent, WebhookAttempt, WebhookEndpoint


def iso(moment: datetime) -> str:
    """``2022-06-27T20:36:38.000000Z``: UTC, microseconds, a ``Z`` (as Mux writes it)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def attempt_view(
    attempt: WebhookAttempt, endpoint: WebhookEndpoint, max_attempts: int
) -> dict[str, Any]:
    """One earlier attempt as the SDK types it."""
    return {
        "id": str(attempt.id),
        "address": endpoint.url,
        "created_at": iso(attempt.created_at),
        "max_attempts": max_attempts,
        "response_body": attempt.response_excerpt,
        "response_headers": {},
        "response_status_code": attempt.status_code,
        "webhook_id": endpoint.id,
    }


def envelope(
    event: OutboxEvent, environment: Environment, attempts: Sequence[dict[str, Any]] = ()
) -> dict[str, Any]:
    """The event as a Mux webhook payload; ``attempts`` are :func:`attempt_view` values."""
    return {
        "type": event.type,
        "object": {"type": event.object_type, "id": event.object_id},
        "id": str(event.id),
        "environment": {"name": environment.name, "id": environment.id},
        "data": event.data,
        "created_at": iso(event.created_at),
        "attempts": list(attempts),
        "accessor": None,
        "accessor_source": None,
        "request_id": None,
    }


def encode(payload: dict[str, Any]) -> bytes:
    """The exact bytes that are signed and sent (compact, UTF-8)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
