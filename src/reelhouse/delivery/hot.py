"""Hot objects: the bytes of recently served small objects, kept in memory for a second.

A popular video's segments are asked for by every viewer within seconds of each other.
Re-reading each one from the store costs a worker-thread hop and a copy per request; keeping
the bytes for ``ttl`` seconds answers the repeats from memory (the kernel still copies them
into the socket). The cache is bounded by total bytes (least recently used evicted first) and
by object size; an entry older than ``ttl`` is read again, so a replaced or deleted object is
served at most ``ttl`` seconds late (the playback cache already answers a deleted asset up
to two seconds late). Objects are replaced atomically by the stores, so a cached copy is
always one whole object. Not shared between processes.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from reelhouse.storage.protocols import ObjectInfo


class HotObjects:
    """``key -> (info, bytes)`` for ``ttl`` seconds, at most ``budget`` bytes in all, objects of
    at most ``budget // 8`` bytes each (so one object cannot flush the rest)."""

    def __init__(
        self, budget: int, *, ttl: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.budget = budget
        self.largest = budget // 8
        self._ttl = ttl
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, ObjectInfo, bytes]] = OrderedDict()
        self._bytes = 0

    @property
    def size(self) -> int:
        """Bytes held."""
        return self._bytes

    def get(self, key: str) -> tuple[ObjectInfo, bytes] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        stored_at, info, data = entry
        if not 0 <= self._clock() - stored_at < self._ttl:
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return info, data

    def put(self, key: str, info: ObjectInfo, data: bytes) -> None:
        if len(data) > self.largest:
            return
        self._drop(key)
        self._entries[key] = (self._clock(), info, data)
        self._bytes += len(data)
        while self._bytes > self.budget:
            oldest = next(iter(self._entries))
            self._drop(oldest)

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= len(entry[2])
