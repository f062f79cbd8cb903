"""One request per upload at a time, with tusd's hand-over: a newcomer asks a stalled holder to
stop and save, so a client that lost its connection can resume at once."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from reelhouse.ingest.body import BodyEnd, BodyPump
from reelhouse.ingest.errors import Locked
from reelhouse.ingest.info import UploadInfo
from reelhouse.ingest.locks import MemoryLocker
from reelhouse.ingest.protocols import ChunkChecksum

from .conftest import (
    HANDOVER_SECONDS,
    PATCH,
    TUS,
    Harness,
    create,
    offset_of,
    patch,
    stalled_patch,
    upload_id,
)

DATA = bytes(range(256)) * 16  # 4 KiB
SHA = hashlib.sha256(DATA).hexdigest()


async def _stalled(harness: Harness, client: httpx.AsyncClient, sent: int) -> tuple[str, Any]:
    url = await create(client, len(DATA))
    request = stalled_patch(harness, url, 0, [DATA[:sent]], total=len(DATA))
    request.start()
    await asyncio.wait_for(request.drained.wait(), 5)
    return url, request


async def test_second_patch_takes_over_and_first_saves(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    url, first = await _stalled(harness, client, 1500)
    response = await asyncio.wait_for(patch(client, url, 1500, DATA[1500:]), HANDOVER_SECONDS)
    assert (response.status_code, response.headers["upload-offset"]) == (204, str(len(DATA)))
    assert await first.finished() == 204
    assert first.headers["upload-offset"] == "1500"
    assert harness.stored_bytes(upload_id(url)) == DATA
    assert [i.sha256 for i in harness.hooks.finished] == [SHA]


async def test_second_patch_with_stale_offset_gets_409_after_the_save(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    url, first = await _stalled(harness, client, 1500)
    response = await patch(client, url, 0, DATA)
    assert response.status_code == 409
    assert await first.finished() == 204
    assert await offset_of(client, url) == 1500
    assert harness.stored_size(upload_id(url)) == 1500


async def test_head_during_stalled_patch_is_prompt_and_resume_works(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    url, stalled = await _stalled(harness, client, 2000)
    started = time.monotonic()
    response = await asyncio.wait_for(client.head(url, headers=TUS), HANDOVER_SECONDS)
    assert time.monotonic() - started < HANDOVER_SECONDS
    assert response.status_code == 200
    assert response.headers["upload-offset"] == "2000"
    assert await stalled.finished() == 204
    assert (await patch(client, url, 2000, DATA[2000:])).status_code == 204
    assert [i.sha256 for i in harness.hooks.finished] == [SHA]


async def test_delete_during_stalled_patch(client: httpx.AsyncClient, harness: Harness) -> None:
    url, stalled = await _stalled(harness, client, 1000)
    response = await asyncio.wait_for(client.delete(url, headers=TUS), HANDOVER_SECONDS)
    assert response.status_code == 204
    await stalled.finished()
    assert harness.files() == set()
    assert (await client.head(url, headers=TUS)).status_code == 404


@pytest.mark.parametrize(
    ("method", "headers"),
    [("HEAD", TUS), ("PATCH", {**PATCH, "Upload-Offset": "100"}), ("DELETE", TUS)],
)
async def test_lock_never_released_is_423(
    client: httpx.AsyncClient, harness: Harness, method: str, headers: dict[str, str]
) -> None:
    url = await create(client, len(DATA))
    assert (await patch(client, url, 0, DATA[:100])).status_code == 204
    asked: list[bool] = []
    lease = await harness.locker.acquire(upload_id(url), lambda: asked.append(True))
    started = time.monotonic()
    response = await client.request(method, url, headers=headers, content=DATA[100:200])
    elapsed = time.monotonic() - started
    assert response.status_code == 423
    assert asked == [True]
    assert HANDOVER_SECONDS * 0.9 <= elapsed < HANDOVER_SECONDS * 4
    await lease.release()
    assert await offset_of(client, url) == 100
    assert harness.stored_size(upload_id(url)) == 100
    assert harness.hooks.terminated == []


async def test_handover_requested_before_the_body_is_read(
    client: httpx.AsyncClient, harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A HEAD that arrives while the PATCH is still preparing (say, rehashing after a restart)."""
    url = await create(client, len(DATA))
    preparing = asyncio.Event()
    proceed = asyncio.Event()
    open_writer = harness.store.open_writer

    async def slow_open_writer(info: UploadInfo, *, checksum: ChunkChecksum | None = None) -> Any:
        preparing.set()
        await proceed.wait()
        return await open_writer(info, checksum=checksum)

    monkeypatch.setattr(harness.store, "open_writer", slow_open_writer)
    request = stalled_patch(harness, url, 0, [DATA[:1000]], total=len(DATA))
    request.start()
    await asyncio.wait_for(preparing.wait(), 5)
    head = asyncio.create_task(client.head(url, headers=TUS))
    await asyncio.sleep(0.01)  # the HEAD has asked the PATCH to hand over
    proceed.set()
    assert await request.finished() == 204
    assert request.headers["upload-offset"] == "0"
    response = await asyncio.wait_for(head, 5)
    assert (response.status_code, response.headers["upload-offset"]) == (200, "0")


# -- the pieces ------------------------------------------------------------------------------
class _Sink:
    def __init__(self) -> None:
        self.data = b""

    async def write(self, parts: Sequence[bytes]) -> None:
        self.data += b"".join(parts)

    async def commit(self) -> UploadInfo:
        raise NotImplementedError

    async def abort(self) -> None:
        raise NotImplementedError


async def _never() -> dict[str, Any]:
    await asyncio.Event().wait()
    raise AssertionError


async def test_pump_stopped_before_it_runs() -> None:
    pump = BodyPump(_never, _Sink(), limit=None)
    pump.stop()
    result = await asyncio.wait_for(pump.run(), 1)
    assert (result.received, result.end) == (0, BodyEnd.HANDOVER)


async def test_pump_stopped_before_its_task_starts() -> None:
    pump = BodyPump(_never, _Sink(), limit=None)
    running = asyncio.create_task(pump.run())
    await asyncio.sleep(0)  # run() has created the pump's task, which has not started yet
    pump.stop()
    result = await asyncio.wait_for(running, 1)
    assert (result.received, result.end) == (0, BodyEnd.HANDOVER)


async def test_pump_stopped_mid_body_keeps_bytes() -> None:
    chunks = [b"abc", b"def"]
    stalled = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if chunks:
            return {"type": "http.request", "body": chunks.pop(0), "more_body": True}
        stalled.set()
        return await _never()

    sink = _Sink()
    pump = BodyPump(receive, sink, limit=None)
    running = asyncio.create_task(pump.run())
    await stalled.wait()
    pump.stop()
    result = await asyncio.wait_for(running, 1)
    assert (result.received, result.end, sink.data) == (6, BodyEnd.HANDOVER, b"abcdef")


async def test_request_cancelled_still_raises() -> None:
    pump = BodyPump(_never, _Sink(), limit=None)
    running = asyncio.create_task(pump.run())
    await asyncio.sleep(0.01)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running


async def test_memory_locker_queues_and_hands_over() -> None:
    locker = MemoryLocker(handover_seconds=0.2)
    asked: list[str] = []
    first = await locker.acquire("u", lambda: asked.append("first"))
    second = asyncio.create_task(locker.acquire("u", lambda: asked.append("second")))
    await asyncio.sleep(0.01)
    assert asked == ["first"]
    await first.release()
    lease = await asyncio.wait_for(second, 1)
    with pytest.raises(Locked):
        await locker.acquire("u", lambda: None)
    assert asked == ["first", "second"]
    await lease.release()
    await (await locker.acquire("u", lambda: None)).release()
    other = await locker.acquire("v", lambda: None)  # locks are per upload
    await other.release()
