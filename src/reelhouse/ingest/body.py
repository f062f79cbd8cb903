"""Streams one request body from the ASGI ``receive`` into a store writer, bounded.

Memory per request is one buffer being filled plus one being written. Reading stops at the end of
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


class BodyPump:
    """One pump per request. ``stop()`` (from a lock hand-over) ends it and keeps its bytes."""

    def __init__(
        self,
        receive: Receive,
        writer: ChunkWriter,
        *,
        limit: int | None,
        skip: int = 0,
        buffer_size: int = 1 << 20,
        read_timeout: float = 60.0,
    ) -> None:
        self._receive = receive
        self._writer = writer
        self._limit = limit
        self._skip = skip
        self._buffer_size = buffer_size
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
                    if buffered >= self._buffer_size:
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
        if parts:
            await self._writer.write(parts)
        return BodyResult(received=received, end=end)
