"""Folding beacon events into a view: startup, watch time, rebuffering, outcomes, replays."""

from __future__ import annotations

import uuid
from typing import Any

from reelhouse.analytics import beacons
from reelhouse.analytics.views import ViewState, apply_events


def events(*items: dict[str, Any]) -> list[beacons.Event]:
    document = {"view_id": str(uuid.uuid4()), "playback_id": "pb", "events": list(items)}
    return beacons.parse_batch(document).events


FULL = events(
    {"type": "viewstart", "seq": 0, "elapsed_ms": 0},
    {"type": "firstframe", "seq": 1, "elapsed_ms": 800},
    {"type": "heartbeat", "seq": 2, "elapsed_ms": 10_000, "watched_seconds": 10},
    {"type": "rebufferstart", "seq": 3, "elapsed_ms": 12_000},
    {"type": "rebufferend", "seq": 4, "elapsed_ms": 13_500},
    {"type": "heartbeat", "seq": 5, "elapsed_ms": 20_000, "watched_seconds": 10},
    {"type": "ended", "seq": 6, "elapsed_ms": 21_000},
)


def test_a_full_view() -> None:
    state = apply_events(ViewState(), FULL)
    assert state.first_frame_ms == 800
    assert state.watch_seconds == 20
    assert (state.rebuffer_count, state.rebuffer_seconds) == (1, 1.5)
    assert state.ended and not state.errored and not state.exited_before_start
    assert state.last_seq == 6


def test_replays_and_reordering_change_nothing() -> None:
    once = apply_events(ViewState(), FULL)
    assert apply_events(once, FULL) == once
    assert apply_events(ViewState(), list(reversed(FULL))) == once
    assert apply_events(ViewState(), FULL + FULL) == once


def test_batches_apply_in_sequence() -> None:
    split = apply_events(apply_events(ViewState(), FULL[:4]), FULL[4:])
    assert split == apply_events(ViewState(), FULL)


def test_ending_closes_an_open_rebuffer() -> None:
    state = apply_events(ViewState(), [*FULL[:4], FULL[6]])
    assert state.rebuffer_seconds == 9 and state.rebuffering_since_ms is None


def test_exit_before_start_and_failure() -> None:
    left = apply_events(ViewState(), [FULL[0], FULL[6]])
    assert left.exited_before_start and left.first_frame_ms is None
    failed = events(
        {"type": "viewstart", "seq": 0, "elapsed_ms": 0},
        {"type": "error", "seq": 1, "elapsed_ms": 300, "code": "network"},
        {"type": "error", "seq": 2, "elapsed_ms": 400, "code": "later"},
        {"type": "ended", "seq": 3, "elapsed_ms": 500},
    )
    state = apply_events(ViewState(), failed)
    assert state.errored and state.error_code == "network"
    assert not state.exited_before_start


def test_only_the_first_frame_counts() -> None:
    again = events({"type": "firstframe", "seq": 7, "elapsed_ms": 5000})
    state = apply_events(apply_events(ViewState(), FULL), again)
    assert state.first_frame_ms == 800 and state.last_seq == 7
