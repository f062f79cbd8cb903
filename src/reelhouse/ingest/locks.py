"""An in-process :class:`~reelhouse.ingest.protocols.Locker` with tusd's hand-over.

Good for one process (tests, a single-node setup); ``reelhouse.db.locks`` provides the one shared
by every process and node through PostgreSQL advisory locks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from reelhouse.ingest.errors import Locked


class _Holder:
    def __init__(self, on_release_requested: Callable[[], None]) -> None:
        self._on_release_requested = on_release_requested
        self._asked = False
        self.released = asyncio.Event()

    def ask_to_release(self) -> None:
        if not self._asked:
            self._asked = True
            self._on_release_requested()


class _MemoryLease:
    def __init__(self, locker: MemoryLocker, upload_id: str, holder: _Holder) -> None:
        self._locker = locker
        self._upload_id = upload_id
        self._holder = holder

    async def release(self) -> None:
        self._locker.drop(self._upload_id, self._holder)


class MemoryLocker:
    def __init__(self, handover_seconds: float = 3.0) -> None:
        self.handover_seconds = handover_seconds
        self._held: dict[str, _Holder] = {}

    async def acquire(
        self, upload_id: str, on_release_requested: Callable[[], None]
    ) -> _MemoryLease:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.handover_seconds
        while (holder := self._held.get(upload_id)) is not None:
            holder.ask_to_release()
            try:
                async with asyncio.timeout_at(deadline):
                    await holder.released.wait()
            except TimeoutError:
                raise Locked(
                    "Another request is still writing to this upload; retry in a moment."
                ) from None
        mine = _Holder(on_release_requested)
        self._held[upload_id] = mine
        return _MemoryLease(self, upload_id, mine)

    def drop(self, upload_id: str, holder: _Holder) -> None:
        if self._held.get(upload_id) is holder:
            del self._held[upload_id]
        holder.released.set()
