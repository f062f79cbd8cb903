"""PostgreSQL advisory locks per upload: a released lock is parked for the next request of the
same upload, and given up at once when another process (or a waiting request) asks for it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import psycopg
import pytest

from reelhouse.db.engine import libpq_url
from reelhouse.db.locks import PgAdvisoryLocker, lock_key


@pytest.fixture
async def conninfo(database_url: str) -> str:
    return libpq_url(database_url)


@pytest.fixture
async def lockers(conninfo: str) -> AsyncIterator[tuple[PgAdvisoryLocker, PgAdvisoryLocker]]:
    """Two lockers, as two processes would have, on one database."""
    first = PgAdvisoryLocker(conninfo, handover_seconds=2.0, park_seconds=0.5)
    second = PgAdvisoryLocker(conninfo, handover_seconds=2.0, park_seconds=0.5)
    await first.start()
    await second.start()
    try:
        yield first, second
    finally:
        await first.stop()
        await second.stop()


async def held_elsewhere(conninfo: str, upload_id: str) -> bool:
    """Whether some other session holds the upload's lock (checked from a fresh session)."""
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        cursor = await conn.execute("SELECT pg_try_advisory_lock(%s)", (lock_key(upload_id),))
        row = await cursor.fetchone()
        got = bool(row and row[0])
        if got:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (lock_key(upload_id),))
        return not got


def nothing() -> None:
    return None


async def test_a_released_lock_is_parked_then_unlocked(
    lockers: tuple[PgAdvisoryLocker, PgAdvisoryLocker], conninfo: str
) -> None:
    first, _ = lockers
    lease = await first.acquire("u-park", nothing)
    await lease.release()
    assert await held_elsewhere(conninfo, "u-park")  # parked on its connection
    again = await first.acquire("u-park", nothing)  # taken back without a query
    await again.release()
    await asyncio.sleep(0.8)
    assert not await held_elsewhere(conninfo, "u-park")


async def test_parking_off_unlocks_at_once(conninfo: str) -> None:
    locker = PgAdvisoryLocker(conninfo, park_seconds=0)
    await locker.start()
    try:
        lease = await locker.acquire("u-off", nothing)
        assert await held_elsewhere(conninfo, "u-off")
        await lease.release()
        assert not await held_elsewhere(conninfo, "u-off")
    finally:
        await locker.stop()


async def test_another_process_gets_a_parked_lock_at_once(
    lockers: tuple[PgAdvisoryLocker, PgAdvisoryLocker], conninfo: str
) -> None:
    first, second = lockers
    await (await first.acquire("u-other", nothing)).release()
    started = time.monotonic()
    lease = await second.acquire("u-other", nothing)
    waited = time.monotonic() - started
    assert waited < 0.4  # NOTIFY unparked it; no waiting out the park time
    assert "u-other" not in first._parked
    await lease.release()


@pytest.mark.parametrize("where", ["another process", "the same process"])
async def test_a_holder_asked_to_let_go_unlocks_instead_of_parking(
    lockers: tuple[PgAdvisoryLocker, PgAdvisoryLocker], where: str
) -> None:
    first, second = lockers
    waiting_in = second if where == "another process" else first
    asked = asyncio.Event()
    lease = await first.acquire("u-asked", asked.set)
    waiter = asyncio.create_task(waiting_in.acquire("u-asked", nothing))
    await asyncio.wait_for(asked.wait(), 2)
    await lease.release()
    started = time.monotonic()
    other = await asyncio.wait_for(waiter, 2)
    assert time.monotonic() - started < 0.4  # not kept waiting for the park time
    assert "u-asked" not in first._parked
    await other.release()


async def test_stop_gives_parked_locks_back(conninfo: str) -> None:
    locker = PgAdvisoryLocker(conninfo, park_seconds=30)
    await locker.start()
    await (await locker.acquire("u-stop", nothing)).release()
    assert await held_elsewhere(conninfo, "u-stop")
    await locker.stop()
    assert not await held_elsewhere(conninfo, "u-stop")


async def test_a_parked_lock_on_a_lost_connection_is_taken_anew(
    lockers: tuple[PgAdvisoryLocker, PgAdvisoryLocker], conninfo: str
) -> None:
    first, _ = lockers
    await (await first.acquire("u-lost", nothing)).release()
    conn, _timer = first._parked["u-lost"]
    await conn.close()  # as if the server had dropped the session, and its lock with it
    lease = await first.acquire("u-lost", nothing)
    assert await held_elsewhere(conninfo, "u-lost")  # really locked again, on a new session
    await lease.release()
