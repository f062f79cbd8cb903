"""The playback cache: TTL, version bypass, eviction, no negative caching."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from reelhouse.delivery.playbacks import Playback, PlaybackCache

T0 = datetime(2026, 12, 1, tzinfo=UTC)


class World:
    def __init__(self) -> None:
        self.now = T0
        self.rows: dict[str, Playback] = {}
        self.loads: list[str] = []

    def clock(self) -> datetime:
        return self.now

    async def load(self, playback_id: str) -> Playback | None:
        self.loads.append(playback_id)
        return self.rows.get(playback_id)

    def add(self, playback_id: str, version: int = 1) -> Playback:
        self.rows[playback_id] = Playback(playback_id, "public", "e", "a", "ready", version, ())
        return self.rows[playback_id]


async def settle() -> None:
    """Let a background reload and its done-callback run."""
    for _ in range(3):
        await asyncio.sleep(0)


@pytest.fixture
def world() -> World:
    return World()


async def test_hits_within_ttl_then_serves_stale_while_it_reloads(world: World) -> None:
    world.add("p1")
    cache = PlaybackCache(world.load, world.clock, ttl=1.0)
    first = await cache.get("p1")
    world.now += timedelta(seconds=0.9)
    assert await cache.get("p1") is first
    assert world.loads == ["p1"]
    world.now += timedelta(seconds=0.2)  # 1.1 s: stale, answered at once, reloaded behind
    world.rows["p1"] = replace(first, version=2)
    assert await cache.get("p1") is first
    assert await cache.get("p1") is first  # one reload in flight, not two
    await settle()
    assert world.loads == ["p1", "p1"]
    assert (await cache.get("p1")).version == 2  # type: ignore[union-attr]
    assert world.loads == ["p1", "p1"]


async def test_too_stale_is_reloaded_before_answering(world: World) -> None:
    first = world.add("p1")
    cache = PlaybackCache(world.load, world.clock, ttl=1.0, stale=0.5)
    await cache.get("p1")
    world.now += timedelta(seconds=1.6)
    world.rows["p1"] = replace(first, version=2)
    assert (await cache.get("p1")).version == 2  # type: ignore[union-attr]
    assert world.loads == ["p1", "p1"]


async def test_a_removed_playback_is_dropped_by_the_background_reload(world: World) -> None:
    world.add("p1")
    cache = PlaybackCache(world.load, world.clock, ttl=1.0)
    await cache.get("p1")
    del world.rows["p1"]
    world.now += timedelta(seconds=1.2)
    assert await cache.get("p1") is not None  # stale answer, reload starts
    await settle()
    assert await cache.get("p1") is None
    assert world.loads == ["p1", "p1", "p1"]


async def test_a_newer_version_than_cached_bypasses_the_cache(world: World) -> None:
    world.add("p1", version=1)
    cache = PlaybackCache(world.load, world.clock, ttl=60)
    await cache.get("p1")
    world.add("p1", version=2)
    assert (await cache.get("p1", min_version=1)).version == 1  # type: ignore[union-attr]
    assert (await cache.get("p1", min_version=2)).version == 2  # type: ignore[union-attr]
    assert len(world.loads) == 2


async def test_clock_going_backwards_expires(world: World) -> None:
    world.add("p1")
    cache = PlaybackCache(world.load, world.clock, ttl=60)
    await cache.get("p1")
    world.now -= timedelta(seconds=5)
    await cache.get("p1")
    assert len(world.loads) == 2


async def test_unknown_ids_are_not_cached(world: World) -> None:
    cache = PlaybackCache(world.load, world.clock, ttl=60)
    assert await cache.get("nope") is None
    world.add("nope")
    assert await cache.get("nope") is not None


async def test_ttl_zero_disables_caching(world: World) -> None:
    world.add("p1")
    cache = PlaybackCache(world.load, world.clock, ttl=0)
    await cache.get("p1")
    await cache.get("p1")
    assert len(world.loads) == 2


async def test_oldest_entries_are_evicted(world: World) -> None:
    for name in ("p1", "p2", "p3"):
        world.add(name)
    cache = PlaybackCache(world.load, world.clock, ttl=60, max_entries=2)
    for name in ("p1", "p2", "p3"):
        await cache.get(name)
    await cache.get("p3")
    await cache.get("p2")
    await cache.get("p1")
    assert world.loads == ["p1", "p2", "p3", "p1"]


async def test_concurrent_misses_share_one_load(world: World) -> None:
    world.add("p1")
    gate = asyncio.Event()

    async def slow_load(playback_id: str) -> Playback | None:
        await gate.wait()
        return await world.load(playback_id)

    cache = PlaybackCache(slow_load, world.clock, ttl=1.0)
    waiters = [asyncio.create_task(cache.get("p1")) for _ in range(20)]
    await asyncio.sleep(0)
    waiters[0].cancel()  # a client going away does not cancel the others' load
    gate.set()
    results = await asyncio.gather(*waiters[1:])
    assert {r.version for r in results if r} == {1} and len(results) == 19
    assert world.loads == ["p1"]
