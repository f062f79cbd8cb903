"""The payload endpoints receive, in Mux's shape."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from reelhouse.db.models import Environment, OutboxEvent, WebhookAttempt, WebhookEndpoint
from reelhouse.webhooks.envelope import attempt_view, encode, envelope, iso

EVENT = OutboxEvent(
    id=uuid.UUID("8d3f2a52-2d2b-4c41-9d1e-0f3e0c2b9a11"),
    environment_id="env1",
    type="video.asset.ready",
    object_type="asset",
    object_id="a1",
    data={"id": "a1", "status": "ready", "created_at": 1656361000},
    created_at=datetime(2022, 6, 27, 20, 36, 38, tzinfo=UTC),
)
ENV = Environment(id="env1", name="Development")
ENDPOINT = WebhookEndpoint(id="wh1", url="https://example.com/hook")


def test_envelope_shape() -> None:
    assert envelope(EVENT, ENV) == {
        "type": "video.asset.ready",
        "object": {"type": "asset", "id": "a1"},
        "id": "8d3f2a52-2d2b-4c41-9d1e-0f3e0c2b9a11",
        "environment": {"name": "Development", "id": "env1"},
        "data": {"id": "a1", "status": "ready", "created_at": 1656361000},
        "created_at": "2022-06-27T20:36:38.000000Z",
        "attempts": [],
        "accessor": None,
        "accessor_source": None,
        "request_id": None,
    }


def test_attempts_in_sdk_shape() -> None:
    attempt = WebhookAttempt(
        id=7,
        delivery_id=1,
        attempt=1,
        status_code=503,
        latency_ms=12,
        error="HTTP 503",
        response_excerpt="busy",
        created_at=datetime(2022, 6, 27, 20, 36, 40, tzinfo=UTC),
    )
    view = attempt_view(attempt, ENDPOINT, 33)
    assert view == {
        "id": "7",
        "address": "https://example.com/hook",
        "created_at": "2022-06-27T20:36:40.000000Z",
        "max_attempts": 33,
        "response_body": "busy",
        "response_headers": {},
        "response_status_code": 503,
        "webhook_id": "wh1",
    }
    assert envelope(EVENT, ENV, [view])["attempts"] == [view]


def test_encode_is_compact_utf8_json() -> None:
    body = encode({"a": "é", "b": [1, 2]})
    assert body == '{"a":"é","b":[1,2]}'.encode()
    assert json.loads(body) == {"a": "é", "b": [1, 2]}


def test_iso_converts_to_utc() -> None:
    from datetime import timedelta, timezone

    moment = datetime(2026, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=1)))
    assert iso(moment) == "2026-01-01T00:00:00.000000Z"
