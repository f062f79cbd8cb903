"""Streams one request body from the ASGI ``receive`` into a store writer, bounded.

Memory per request is one buffer being filled plus one being written; the bodies streaming at once
share the buffer sizes (:class:`BufferShares`). Reading stops at the end of
the body, at ``limit`` bytes, after ``read_timeout`` seconds without data, when the client goes
away, or when the task is cancelled for a lock hand-over; whatever arrived is written either way,
and the caller decides what to commit.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass

from starlette.types import Receive

from reelhouse.ingest.protocols import ChunkWriter


class BodyEnd(enum.Enum):
    COMPLETE = "complete"
    LIMIT = "limit"
    DISCONNECTED = "disconnected"
    TIMEOUT = "timeout"
    HANDOVER = "handover"


@dataclass(frozen=True)
class BodyResult:
    received: int
    end: BodyEnd


# A lone upload's buffer: past about this size, larger hand-offs to the writer thread stop paying
# off (docs/benchmarks.md, uploads, "Buffer shares").
LARGEST_BUFFER = 1 << 20


class BufferShares:
    """How many received bytes each body hands to its writer at once, for one process.

    The bodies streaming at the same time share ``budget`` equally, each between ``floor`` and
    ``ceiling``: a lone upload writes in large buffers (fewer thread hand-offs per byte), many at
    once fall back to ``floor`` each. Bodies hold at most two buffers (one filling, one being
    written), so the buffers of n bodies take about ``2 * max(budget, n * floor)`` (a buffer being
    written may still have an earlier, larger share's size). A ``budget`` of 0 gives every body
    ``floor``. Used from the event loop only.
    """

    def __init__(self, floor: int, *, budget: int = 0, ceiling: int = LARGEST_BUFFER) -> None:
        self.floor = floor
        self.budget = budget
        self.ceiling = max(ceiling, floor)
        self.streaming = 0
        self.size = self._share()

    def _share(self) -> int:
        if self.budget <= 0:
            return self.floor
        return max(self.floor, min(self.ceiling, self.budget // max(self.streaming, 1)))

    def join(self) -> None:
        self.streaming += 1
        self.size = self._share()

    def leave(self) -> None:
        self.streaming -= 1
        self.size = self._share()


class BodyPump:
    """One pump per request. ``stop()`` (from a lock hand-over) ends it and keeps its bytes."""

    def __init__(
        self,
        receive: Receive,
        writer: ChunkWriter,
        *,
        limit: int | None,
        skip: int = 0,
        buffers: BufferShares | None = None,
        read_timeout: float = 60.0,
    ) -> None:
        self._receive = receive
        self._writer = writer
        self._limit = limit
        self._skip = skip
        self._buffers = buffers or BufferShares(LARGEST_BUFFER)
        self._read_timeout = read_timeout
        self._task: asyncio.Task[BodyResult] | None = None
        self._stopping = False

    def stop(self) -> None:
        self._stopping = True
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def run(self) -> BodyResult:
        if self._stopping:
            # Handed over before a byte was read: nothing to keep, nothing to read.
            return BodyResult(received=0, end=BodyEnd.HANDOVER)
        self._task = asyncio.create_task(self._pump())
        try:
            return await asyncio.shield(self._task)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if self._task.cancelled() and (current is None or not current.cancelling()):
                # stop() cancelled the pump before its first step, so _pump never got to turn
                # the hand-over into a result; this request was not cancelled itself.
                return BodyResult(received=0, end=BodyEnd.HANDOVER)
            # The request itself was cancelled (server shutdown): stop the pump, keep its bytes.
            self._stopping = True
            self._task.cancel()
            await asyncio.wait([self._task])
            raise

    async def _pump(self) -> BodyResult:
        parts: list[bytes] = []
        buffered = 0
        received = 0
        end = BodyEnd.COMPLETE
        loop = asyncio.get_running_loop()
        buffers = self._buffers
        buffers.join()
        try:
            async with asyncio.timeout(self._read_timeout) as deadline:
                while True:
                    message = await self._receive()
                    deadline.reschedule(loop.time() + self._read_timeout)
                    if message["type"] == "http.disconnect":
                        end = BodyEnd.DISCONNECTED
                        break
                    chunk: bytes = message.get("body", b"")
                    if self._skip:
                        cut = min(self._skip, len(chunk))
                        chunk, self._skip = chunk[cut:], self._skip - cut
                    if self._limit is not None and received + len(chunk) > self._limit:
                        chunk = chunk[: self._limit - received]
                        end = BodyEnd.LIMIT
                    if chunk:
                        parts.append(chunk)
                        buffered += len(chunk)
                        received += len(chunk)
                    if end is BodyEnd.LIMIT or not message.get("more_body", False):
                        break
                    if buffered >= buffers.size:
                        await self._writer.write(parts)
                        parts, buffered = [], 0
        except TimeoutError:
            end = BodyEnd.TIMEOUT
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            end = BodyEnd.HANDOVER
        finally:
            buffers.leave()
        if parts:
            await self._writer.write(parts)
        return BodyResult(received=received, end=end)
