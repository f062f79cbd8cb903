"""BodyPump's buffers: each body hands its bytes to the writer in its share of the budget."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from reelhouse.ingest.body import BodyEnd, BodyPump, BufferShares
from reelhouse.ingest.info import UploadInfo

KiB = 1024


class _Writes:
    """A writer that records the size of every buffer it was handed."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.data = bytearray()

    async def write(self, parts: Sequence[bytes]) -> None:
        self.sizes.append(sum(len(p) for p in parts))
        for part in parts:
            self.data += part

    async def commit(self) -> UploadInfo:
        raise NotImplementedError

    async def abort(self) -> None:
        raise NotImplementedError


class _Body:
    """An ASGI receive that delivers ``total`` bytes in ``piece``-byte messages, on demand."""

    def __init__(self, total: int, piece: int) -> None:
        self.left = total
        self.piece = piece
        self.sent = 0
        self.go = asyncio.Event()
        self.go.set()

    async def __call__(self) -> dict[str, Any]:
        await asyncio.sleep(0)  # as a socket would: other requests run between messages
        await self.go.wait()
        n = min(self.piece, self.left)
        self.left -= n
        body = bytes([self.sent % 251]) * n
        self.sent += 1
        return {"type": "http.request", "body": body, "more_body": self.left > 0}


def test_a_lone_body_gets_the_ceiling_and_many_share_the_budget() -> None:
    shares = BufferShares(256 * KiB, budget=4096 * KiB, ceiling=1024 * KiB)
    assert shares.size == 1024 * KiB
    for n, expected in [(1, 1024), (2, 1024), (4, 1024), (8, 512), (16, 256), (40, 256)]:
        while shares.streaming < n:
            shares.join()
        assert shares.size == expected * KiB, n
    while shares.streaming:
        shares.leave()
    assert shares.size == 1024 * KiB


def test_no_budget_means_the_floor_for_everyone() -> None:
    shares = BufferShares(256 * KiB)
    shares.join()
    assert shares.size == 256 * KiB
    assert BufferShares(2048 * KiB, budget=4096 * KiB, ceiling=1024 * KiB).size == 2048 * KiB


async def test_buffers_shrink_while_other_bodies_stream_and_grow_back() -> None:
    shares = BufferShares(64 * KiB, budget=256 * KiB, ceiling=256 * KiB)
    lone = _Writes()
    result = await BodyPump(_Body(1024 * KiB, 16 * KiB), lone, limit=None, buffers=shares).run()
    assert result.end is BodyEnd.COMPLETE and result.received == 1024 * KiB
    assert lone.sizes == [256 * KiB] * 4
    assert shares.streaming == 0

    # Four bodies at once: each hands over 64 KiB at a time (a quarter of the budget).
    writers = [_Writes() for _ in range(4)]
    bodies = [_Body(512 * KiB, 16 * KiB) for _ in writers]
    pumps = [
        BodyPump(body, w, limit=None, buffers=shares)
        for body, w in zip(bodies, writers, strict=True)
    ]
    results = await asyncio.gather(*(p.run() for p in pumps))
    assert all(r.received == 512 * KiB for r in results)
    for w in writers:
        assert max(w.sizes) == 64 * KiB and sum(w.sizes) == 512 * KiB
    assert shares.streaming == 0 and shares.size == 256 * KiB


async def test_a_body_that_ends_early_or_is_stopped_gives_its_share_back() -> None:
    shares = BufferShares(64 * KiB, budget=256 * KiB, ceiling=256 * KiB)
    body = _Body(1024 * KiB, 16 * KiB)
    writer = _Writes()
    pump = BodyPump(body, writer, limit=100 * KiB, buffers=shares)
    result = await pump.run()
    assert result.end is BodyEnd.LIMIT and len(writer.data) == 100 * KiB
    assert shares.streaming == 0

    stalled = _Body(1024 * KiB, 16 * KiB)
    stalled.go.clear()
    pump = BodyPump(stalled, _Writes(), limit=None, buffers=shares)
    task = asyncio.create_task(pump.run())
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert shares.streaming == 1 and shares.size == 256 * KiB
    pump.stop()
    assert (await task).end is BodyEnd.HANDOVER
    assert shares.streaming == 0
