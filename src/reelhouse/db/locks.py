"""Per-upload locks shared by every process and node: PostgreSQL advisory locks.

Each held lock keeps one pooled connection (session-level advisory locks belong to a session).
A request that finds the lock taken asks the holder to stop with ``NOTIFY`` on one channel; the
process holding it (which ``LISTEN``s) stops that request's body, saves what it has and unlocks.
The waiter then waits server-side with ``lock_timeout``, so nothing polls and the event loop never
blocks. This module satisfies ``reelhouse.ingest.protocols.Locker`` structurally.

A released lock is kept on its connection for ``park_seconds`` (a client's next PATCH of the same
upload usually comes within a millisecond) and handed to the next request for that upload in this
process without a round trip; a request elsewhere asks with the same ``NOTIFY`` and the parked lock
is given up at once. That saves two queries per PATCH (0.5 ms of wall, 0.4 ms of CPU).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import AsyncConnectionPool, PoolTimeout

CHANNEL = "reelhouse_upload_release"
Conn = psycopg.AsyncConnection[tuple[Any, ...]]


class LockUnavailable(Exception):
    """The upload stayed locked through the hand-over time."""


def lock_key(upload_id: str) -> int:
    """A signed 64-bit key for ``pg_advisory_lock`` derived from the upload id."""
    digest = hashlib.blake2b(f"upload:{upload_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PgLease:
    def __init__(
        self,
        locker: PgAdvisoryLocker,
        conn: psycopg.AsyncConnection[tuple[Any, ...]],
        upload_id: str,
        callback: Callable[[], None],
    ) -> None:
        self._locker = locker
        self._conn = conn
        self._upload_id = upload_id
        self._callback = callback

    async def release(self) -> None:
        await self._locker.unlock(self._conn, self._upload_id, self._callback)


class PgAdvisoryLocker:
    def __init__(
        self,
        conninfo: str,
        *,
        handover_seconds: float = 3.0,
        max_locks: int = 64,
        make_error: Callable[[str], Exception] | None = None,
        park_seconds: float = 0.5,
    ) -> None:
        self._conninfo = conninfo
        self.handover_seconds = handover_seconds
        self.park_seconds = park_seconds
        self._make_error = make_error or LockUnavailable
        self._pool = AsyncConnectionPool(
            conninfo,
            min_size=1,
            max_size=max_locks,
            kwargs={"autocommit": True},
            open=False,
            name="upload-locks",
        )
        self._holders: dict[str, Callable[[], None]] = {}
        # Released locks still held on their connection, each with the timer that unlocks it.
        self._parked: dict[str, tuple[Conn, asyncio.TimerHandle]] = {}
        # Uploads whose holder was asked to let go: their lock is unlocked, not parked.
        self._wanted: set[str] = set()
        self._unlocking: set[asyncio.Task[None]] = set()
        self._listener: asyncio.Task[None] | None = None
        self._listen_conn: psycopg.AsyncConnection[tuple[Any, ...]] | None = None

    async def start(self) -> None:
        await self._pool.open(wait=True)
        conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        await conn.execute(f"LISTEN {CHANNEL}")
        self._listen_conn = conn
        self._listener = asyncio.create_task(self._listen(conn), name="upload-lock-listener")

    async def stop(self) -> None:
        for upload_id in list(self._parked):
            self._unpark(upload_id)
        if self._unlocking:
            await asyncio.gather(*self._unlocking, return_exceptions=True)
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._listen_conn is not None:
            await self._listen_conn.close()
        await self._pool.close()

    async def _listen(self, conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> None:
        async for notify in conn.notifies():
            self._ask_local_holder(notify.payload)

    def _ask_local_holder(self, upload_id: str) -> None:
        if upload_id in self._parked:
            self._unpark(upload_id)
            return
        callback = self._holders.get(upload_id)
        if callback is not None:
            self._wanted.add(upload_id)
            callback()

    async def acquire(self, upload_id: str, on_release_requested: Callable[[], None]) -> PgLease:
        parked = self._parked.pop(upload_id, None)
        if parked is not None:
            conn, timer = parked
            timer.cancel()
            if not (conn.closed or conn.broken):
                self._holders[upload_id] = on_release_requested
                return PgLease(self, conn, upload_id, on_release_requested)
            await self._pool.putconn(conn)  # the session (and its lock) is gone: lock anew
        key = lock_key(upload_id)
        try:
            conn = await self._pool.getconn(timeout=self.handover_seconds)
        except (PoolTimeout, psycopg.OperationalError) as exc:
            raise self._make_error("The server is busy; retry the request.") from exc
        try:
            row = await (await conn.execute("SELECT pg_try_advisory_lock(%s)", (key,))).fetchone()
            if not (row and row[0]):
                await self._wait_for_handover(conn, upload_id, key)
        except BaseException:
            await self._pool.putconn(conn)
            raise
        self._holders[upload_id] = on_release_requested
        return PgLease(self, conn, upload_id, on_release_requested)

    async def _wait_for_handover(
        self, conn: psycopg.AsyncConnection[tuple[Any, ...]], upload_id: str, key: int
    ) -> None:
        if upload_id in self._holders:
            self._ask_local_holder(upload_id)
        else:
            await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, upload_id))
        timeout_ms = int(self.handover_seconds * 1000)
        try:
            await conn.execute(f"SET lock_timeout = {timeout_ms}")
            await conn.execute("SELECT pg_advisory_lock(%s)", (key,))
        except pg_errors.LockNotAvailable:
            raise self._make_error(
                "Another request is still writing to this upload; retry in a moment."
            ) from None
        finally:
            await conn.execute("SET lock_timeout = 0")

    async def unlock(self, conn: Conn, upload_id: str, callback: Callable[[], None]) -> None:
        """Release a request's lock: parked for the next request of this upload, or unlocked at
        once when someone asked for it (or parking is off)."""
        if self._holders.get(upload_id) is callback:
            del self._holders[upload_id]
        wanted = upload_id in self._wanted
        self._wanted.discard(upload_id)
        if wanted or self.park_seconds <= 0 or upload_id in self._parked:
            await self._unlock(conn, upload_id)
            return
        timer = asyncio.get_running_loop().call_later(self.park_seconds, self._unpark, upload_id)
        self._parked[upload_id] = (conn, timer)

    def _unpark(self, upload_id: str) -> None:
        """Unlock a parked lock now (its timer ran out, someone asked, or the locker stops)."""
        parked = self._parked.pop(upload_id, None)
        if parked is None:
            return
        conn, timer = parked
        timer.cancel()
        task = asyncio.create_task(self._unlock(conn, upload_id), name="upload-lock-unpark")
        self._unlocking.add(task)
        task.add_done_callback(self._unlocking.discard)

    async def _unlock(self, conn: Conn, upload_id: str) -> None:
        try:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (lock_key(upload_id),))
        finally:
            await self._pool.putconn(conn)
