"""Per-upload locks shared by every process and node: PostgreSQL advisory locks.

Each held lock keeps one pooled connection (session-level advisory locks belong to a session).
A request that finds the lock taken asks the holder to stop with ``NOTIFY`` on one channel; the
process holding it (which ``LISTEN``s) stops that request's body, saves what it has and unlocks.
The waiter then waits server-side with ``lock_timeout``, so nothing polls and the event loop never
blocks. This module satisfies ``reelhouse.ingest.protocols.Locker`` structurally.
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
    ) -> None:
        self._conninfo = conninfo
        self.handover_seconds = handover_seconds
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
        self._listener: asyncio.Task[None] | None = None
        self._listen_conn: psycopg.AsyncConnection[tuple[Any, ...]] | None = None

    async def start(self) -> None:
        await self._pool.open(wait=True)
        conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        await conn.execute(f"LISTEN {CHANNEL}")
        self._listen_conn = conn
        self._listener = asyncio.create_task(self._listen(conn), name="upload-lock-listener")

    async def stop(self) -> None:
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
        callback = self._holders.get(upload_id)
        if callback is not None:
            callback()

    async def acquire(self, upload_id: str, on_release_requested: Callable[[], None]) -> PgLease:
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

    async def unlock(
        self,
        conn: psycopg.AsyncConnection[tuple[Any, ...]],
        upload_id: str,
        callback: Callable[[], None],
    ) -> None:
        if self._holders.get(upload_id) is callback:
            del self._holders[upload_id]
        try:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (lock_key(upload_id),))
        finally:
            await self._pool.putconn(conn)
