"""Byte ranges as :meth:`ObjectStore.open_range` takes them: ``start`` to ``end`` inclusive."""

from __future__ import annotations

import threading
from collections.abc import Callable


def check_range(start: int, end: int | None) -> None:
    """Raise ``ValueError`` unless ``0 <= start`` and ``start <= end`` (when given)."""
    if start < 0:
        raise ValueError(f"range start {start} is negative")
    if end is not None and end < start:
        raise ValueError(f"range end {end} is before its start {start}")


class LockedReader:
    """A blocking reader that is read and closed from executor threads, one call at a time.

    A task cancelled while its read runs in a thread does not stop that read; the lock makes the
    close that follows wait for it, so a file descriptor or connection is never closed (and
    perhaps reused) under a read in flight. Call both methods from the executor.
    """

    def __init__(self, read: Callable[[int], bytes], close: Callable[[], object]) -> None:
        self._read = read
        self._close = close
        self._lock = threading.Lock()
        self._closed = False

    def read(self, size: int) -> bytes:
        with self._lock:
            return b"" if self._closed else self._read(size)

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._close()
