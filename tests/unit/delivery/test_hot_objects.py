"""Hot objects: TTL, byte budget with LRU eviction, per-object cap."""

from __future__ import annotations

from datetime import UTC, datetime

from reelhouse.delivery.hot import HotObjects
from reelhouse.storage.protocols import ObjectInfo


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def info(key: str, size: int) -> ObjectInfo:
    return ObjectInfo(
        key, size, f"etag-{key}", "video/iso.segment", datetime(2026, 1, 1, tzinfo=UTC)
    )


def test_hits_within_ttl_then_misses() -> None:
    clock = Clock()
    hot = HotObjects(800, ttl=1.0, clock=clock)
    hot.put("a", info("a", 10), b"x" * 10)
    assert hot.get("a") == (info("a", 10), b"x" * 10)
    clock.now += 0.99
    assert hot.get("a") is not None
    clock.now += 0.02
    assert hot.get("a") is None
    assert hot.size == 0


def test_clock_going_backwards_misses() -> None:
    clock = Clock()
    hot = HotObjects(800, clock=clock)
    hot.put("a", info("a", 1), b"x")
    clock.now -= 5
    assert hot.get("a") is None


def test_budget_evicts_least_recently_used() -> None:
    hot = HotObjects(800, clock=Clock())  # objects up to 100 bytes
    for key in "abcdefgh":
        hot.put(key, info(key, 100), b"y" * 100)
    assert hot.size == 800
    assert hot.get("a") is not None  # a is now the most recently used
    hot.put("i", info("i", 100), b"z" * 100)
    assert hot.get("b") is None
    assert hot.get("a") is not None and hot.get("i") is not None
    assert hot.size == 800


def test_objects_over_an_eighth_of_the_budget_are_not_kept() -> None:
    hot = HotObjects(800, clock=Clock())
    hot.put("big", info("big", 101), b"b" * 101)
    assert hot.get("big") is None and hot.size == 0


def test_replacing_a_key_keeps_the_count_right() -> None:
    hot = HotObjects(800, clock=Clock())
    hot.put("a", info("a", 50), b"1" * 50)
    hot.put("a", info("a", 20), b"2" * 20)
    assert hot.size == 20
    assert hot.get("a") == (info("a", 20), b"2" * 20)
