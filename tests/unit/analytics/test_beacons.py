"""Beacon batches: what is accepted, and a message naming the problem for what is not."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from reelhouse.analytics import beacons

VIEW = str(uuid.uuid4())


def batch(*events: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"view_id": VIEW, "playback_id": "pb_1", "events": list(events), **extra}


def test_every_event_type_is_accepted() -> None:
    events = [
        {"type": "viewstart", "seq": 0, "elapsed_ms": 0},
        {"type": "firstframe", "seq": 1, "elapsed_ms": 800},
        {"type": "heartbeat", "seq": 2, "elapsed_ms": 10_000, "watched_seconds": 9.2},
        {"type": "rebufferstart", "seq": 3, "elapsed_ms": 11_000},
        {"type": "rebufferend", "seq": 4, "elapsed_ms": 12_000},
        {"type": "seek", "seq": 5, "elapsed_ms": 13_000, "playhead": 40},
        {"type": "qualitychange", "seq": 6, "elapsed_ms": 14_000, "rendition": "720p"},
        {"type": "error", "seq": 7, "elapsed_ms": 15_000, "code": "decode"},
        {"type": "ended", "seq": 8, "elapsed_ms": 16_000},
    ]
    parsed = beacons.parse_batch(batch(*events, player="mux-player", newer_key=1))
    assert [event.type for event in parsed.events] == list(beacons.EVENT_TYPES)
    assert parsed.view_id == uuid.UUID(VIEW)
    assert parsed.player == "mux-player"


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ([], "request body must be a JSON object"),
        ("text", "request body must be a JSON object"),
        (batch({"type": "pause", "seq": 0, "elapsed_ms": 0}), "unknown event type 'pause'"),
        (batch(), "events: List should have at least 1 item"),
        (batch(*[{"type": "viewstart", "seq": n, "elapsed_ms": 0} for n in range(21)]), "events"),
        (batch({"type": "heartbeat", "seq": 0, "elapsed_ms": 0}), "watched_seconds: Field"),
        (batch({"type": "viewstart", "seq": -1, "elapsed_ms": 0}), "seq"),
        (batch({"type": "viewstart", "seq": 0}), "elapsed_ms: Field required"),
        ({**batch({"type": "ended", "seq": 0, "elapsed_ms": 0}), "view_id": "x"}, "view_id"),
        ({**batch({"type": "ended", "seq": 0, "elapsed_ms": 0}), "playback_id": "a/b"}, "playback"),
    ],
)
def test_invalid_batches_say_why(document: Any, expected: str) -> None:
    with pytest.raises(beacons.InvalidBeacon) as caught:
        beacons.parse_batch(document)
    assert any(expected in message for message in caught.value.messages), caught.value.messages
