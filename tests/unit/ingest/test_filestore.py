"""FileStore: the offset is what is on disk, the whole-file sha256 survives restarts and partial
bodies, and checksummed bodies are staged."""

from __future__ import annotations

import hashlib
import itertools
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reelhouse.ingest.errors import ChecksumMismatch, Conflict, UploadNotFound
from reelhouse.ingest.filestore import FileStore, FileWriter, write_all
from reelhouse.ingest.info import NewUpload
from reelhouse.ingest.protocols import ChunkChecksum

from .conftest import (
    Harness,
    checksum,
    client_for,
    create,
    offset_of,
    patch,
    stalled_patch,
    upload_id,
)

DATA = bytes(range(256)) * 40  # 10 KiB
SHA = hashlib.sha256(DATA).hexdigest()


def _new(upload_id: str = "u1", size: int | None = len(DATA), **fields: object) -> NewUpload:
    return NewUpload(id=upload_id, size=size, created_at=datetime.now(UTC), **fields)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path, executor: ThreadPoolExecutor) -> FileStore:
    return FileStore(tmp_path / "store", fsync=True, sync_every=1024, executor=executor)


async def _append(store: FileStore, upload_id: str, *pieces: bytes) -> None:
    info = await store.get(upload_id)
    writer = await store.open_writer(info)
    for piece in pieces:
        await writer.write([piece])
    await writer.commit()


async def test_sha256_over_several_appends(store: FileStore) -> None:
    await store.create(_new())
    cuts = [0, 1, 1000, 1001, 4096, 9000, len(DATA)]
    for start, end in itertools.pairwise(cuts):
        await _append(store, "u1", DATA[start:end])
    info = await store.get("u1")
    assert (info.offset, info.complete, info.sha256) == (len(DATA), True, SHA)
    assert (store.root / "u1").read_bytes() == DATA


async def test_sha256_rebuilt_after_restart(
    store: FileStore, tmp_path: Path, executor: ThreadPoolExecutor
) -> None:
    await store.create(_new())
    await _append(store, "u1", DATA[:3000], DATA[3000:5000])
    restarted = FileStore(store.root, fsync=False, executor=executor)  # an empty hash cache
    info = await restarted.get("u1")
    assert info.offset == 5000
    await _append(restarted, "u1", DATA[5000:])
    assert (await restarted.get("u1")).sha256 == SHA


async def test_info_round_trips(store: FileStore) -> None:
    expires = datetime.now(UTC) + timedelta(days=1)
    created = await store.create(
        _new(
            "u2",
            size=None,
            metadata={"filename": "a.mp4"},
            expires_at=expires,
            partial=True,
            owner={"env": "e1", "n": [1, 2]},
        )
    )
    loaded = await store.get("u2")
    assert loaded == created
    assert loaded.expires_at == expires
    declared = await store.declare_length("u2", 0)
    assert declared.complete and declared.sha256 == hashlib.sha256(b"").hexdigest()


@pytest.mark.parametrize("bad_id", ["../etc", ".hidden", "a/b", "", "x" * 200, "a.info"])
async def test_unsafe_ids_are_not_found(store: FileStore, bad_id: str) -> None:
    with pytest.raises(UploadNotFound):
        await store.get(bad_id)
    with pytest.raises(UploadNotFound):
        await store.create(_new(bad_id))


async def test_unknown_id_is_not_found(store: FileStore) -> None:
    with pytest.raises(UploadNotFound):
        await store.get("nothing")


async def test_create_over_existing_bytes_is_conflict(store: FileStore) -> None:
    await store.create(_new())
    await _append(store, "u1", DATA[:10])
    with pytest.raises(Conflict):
        await store.create(_new())
    assert (await store.get("u1")).offset == 10


async def test_checksum_mismatch_discards_stage(store: FileStore) -> None:
    await store.create(_new())
    await _append(store, "u1", DATA[:100])
    info = await store.get("u1")
    wrong = ChunkChecksum("sha1", hashlib.sha1(b"nope").digest())
    writer = await store.open_writer(info, checksum=wrong)
    await writer.write([DATA[100:200]])
    with pytest.raises(ChecksumMismatch):
        await writer.commit()
    assert (await store.get("u1")).offset == 100
    assert sorted(p.name for p in store.root.iterdir()) == ["u1", "u1.info"]
    right = ChunkChecksum("sha1", hashlib.sha1(DATA[100:]).digest())
    writer = await store.open_writer(await store.get("u1"), checksum=right)
    await writer.write([DATA[100:]])
    assert (await writer.commit()).sha256 == SHA


async def test_abort_keeps_plain_bytes_and_drops_staged(store: FileStore) -> None:
    await store.create(_new())
    writer = await store.open_writer(await store.get("u1"))
    await writer.write([DATA[:300]])
    await writer.abort()
    assert (await store.get("u1")).offset == 300
    staged = ChunkChecksum("md5", hashlib.md5(DATA[300:400]).digest())
    writer = await store.open_writer(await store.get("u1"), checksum=staged)
    await writer.write([DATA[300:400]])
    await writer.abort()
    assert (await store.get("u1")).offset == 300
    await _append(store, "u1", DATA[300:])
    assert (await store.get("u1")).sha256 == SHA


async def test_terminate_removes_everything(store: FileStore) -> None:
    await store.create(_new())
    await _append(store, "u1", DATA[:10])
    await store.terminate("u1")
    assert list(store.root.iterdir()) == []
    with pytest.raises(UploadNotFound):
        await store.get("u1")


# -- through HTTP ------------------------------------------------------------------------------
async def test_restart_between_patches_over_http(
    tmp_path: Path, executor: ThreadPoolExecutor
) -> None:
    first = Harness(tmp_path / "up", executor=executor)
    async with client_for(first) as client:
        url = await create(client, len(DATA))
        assert (await patch(client, url, 0, DATA[:4000])).status_code == 204
        assert (await patch(client, url, 4000, DATA[4000:7000])).status_code == 204
    second = Harness(tmp_path / "up", executor=executor)  # a restarted server, same directory
    async with client_for(second) as client:
        assert await offset_of(client, url) == 7000
        assert (await patch(client, url, 7000, DATA[7000:])).status_code == 204
    assert [i.sha256 for i in second.hooks.finished] == [SHA]


async def test_small_buffers_keep_order_and_hash(
    tmp_path: Path, executor: ThreadPoolExecutor
) -> None:
    harness = Harness(tmp_path / "up", executor=executor, buffer_size=100)
    url = await _create_via(harness, len(DATA))
    request = stalled_patch(
        harness, url, 0, [DATA[i : min(i + 37, 9000)] for i in range(0, 9000, 37)], total=len(DATA)
    )
    request.start()
    await request.drained.wait()
    request.resume(DATA[9000:])
    assert await request.finished() == 204
    assert harness.stored_bytes(upload_id(url)) == DATA
    assert [i.sha256 for i in harness.hooks.finished] == [SHA]


async def _create_via(harness: Harness, length: int) -> str:
    async with client_for(harness) as client:
        return await create(client, length)


async def test_broken_connection_keeps_and_counts_partial_body(harness: Harness) -> None:
    url = await _create_via(harness, len(DATA))
    request = stalled_patch(harness, url, 0, [DATA[:1000], DATA[1000:2500]], total=len(DATA))
    request.start()
    await request.drained.wait()
    request.disconnect()
    await request.finished()
    assert harness.stored_size(upload_id(url)) == 2500
    async with client_for(harness) as client:
        assert await offset_of(client, url) == 2500
        assert (await patch(client, url, 2500, DATA[2500:])).status_code == 204
    assert harness.hooks.received == len(DATA)
    assert [i.sha256 for i in harness.hooks.finished] == [SHA]


async def test_broken_connection_with_checksum_keeps_nothing(harness: Harness) -> None:
    url = await _create_via(harness, len(DATA))
    request = stalled_patch(harness, url, 0, [DATA[:1000]], total=len(DATA))
    request.scope["headers"].append((b"upload-checksum", checksum("sha1", DATA).encode()))
    request.start()
    await request.drained.wait()
    request.disconnect()
    assert await request.finished() == 400
    assert harness.stored_size(upload_id(url)) == 0
    assert not [name for name in harness.files() if ".stage-" in name]
    async with client_for(harness) as client:
        assert await offset_of(client, url) == 0
        response = await patch(client, url, 0, DATA, **{"Upload-Checksum": checksum("sha1", DATA)})
        assert response.status_code == 204
    assert [i.sha256 for i in harness.hooks.finished] == [SHA]


async def test_read_timeout_saves_what_arrived(
    tmp_path: Path, executor: ThreadPoolExecutor
) -> None:
    harness = Harness(tmp_path / "up", executor=executor, read_timeout=0.2)
    url = await _create_via(harness, len(DATA))
    request = stalled_patch(harness, url, 0, [DATA[:1234]], total=len(DATA))
    request.start()
    assert await request.finished() == 408
    assert request.headers["upload-offset"] == "1234"
    assert request.headers["connection"] == "close"
    async with client_for(harness) as client:
        assert await offset_of(client, url) == 1234
        assert (await patch(client, url, 1234, DATA[1234:])).status_code == 204
    assert [i.sha256 for i in harness.hooks.finished] == [SHA]


async def test_streamed_deferred_body_is_cut_at_the_limit(harness: Harness) -> None:
    harness.hooks.limit = 3000
    async with client_for(harness) as client:
        url = await create(client, None, **{"Upload-Defer-Length": "1"})
    request = stalled_patch(harness, url, 0, [DATA[:2000], DATA[2000:4000]])
    request.scope["headers"] = [
        (k, v) for k, v in request.scope["headers"] if k != b"content-length"
    ]
    request.scope["headers"].append((b"transfer-encoding", b"chunked"))
    request.start()
    assert await request.finished() == 413
    assert harness.stored_size(upload_id(url)) <= 3000
    async with client_for(harness) as client:
        assert await offset_of(client, url) == harness.stored_size(upload_id(url))


async def test_write_failure_mid_body_closes_writer_and_keeps_what_landed(
    tmp_path: Path, executor: ThreadPoolExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness = Harness(tmp_path / "up", executor=executor, buffer_size=1000)
    url = await _create_via(harness, len(DATA))
    real_write = FileWriter._write_blocking
    calls = 0

    def failing_write(self: FileWriter, data: bytes) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OSError(28, "No space left on device")
        real_write(self, data)

    monkeypatch.setattr(FileWriter, "_write_blocking", failing_write)
    fds = len(os.listdir("/proc/self/fd"))
    request = stalled_patch(harness, url, 0, [DATA[i : i + 1000] for i in range(0, 5000, 1000)])
    request.resume(b"")  # the whole body is there; the store fails on the second buffer
    request.start()
    assert await request.finished() == 500
    assert len(os.listdir("/proc/self/fd")) == fds
    monkeypatch.setattr(FileWriter, "_write_blocking", real_write)
    stored = harness.stored_size(upload_id(url))
    assert stored == 1000
    async with client_for(harness) as client:
        assert await offset_of(client, url) == stored
        assert (await patch(client, url, stored, DATA[stored:])).status_code == 204
    assert [i.sha256 for i in harness.hooks.finished] == [SHA]


def test_write_all_appends_many_pieces_in_order(tmp_path: Path) -> None:
    # More pieces than one writev takes, empty ones among them: every byte once, in order.
    pieces = [DATA[i : i + 7] for i in range(0, len(DATA), 7)] + [b""] * 3
    pieces = pieces * 2
    path = tmp_path / "out"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        assert write_all(fd, pieces) == 2 * len(DATA)
    finally:
        os.close(fd)
    assert path.read_bytes() == DATA * 2


async def test_writeback_starts_on_the_ranges_just_written(
    tmp_path: Path, executor: ThreadPoolExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reelhouse.ingest import filestore

    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(
        filestore, "start_writeback", lambda fd, start, length: calls.append((start, length))
    )
    store = FileStore(tmp_path / "s", fsync=True, sync_every=1 << 30, executor=executor)
    size = 100 + 5 * (1 << 20)
    await store.create(_new(size=size))
    await _append(store, "u1", b"h" * 100)
    info = await store.get("u1")
    writer = await store.open_writer(info)
    piece = b"x" * (256 << 10)
    for _ in range(20):
        await writer.write([piece])
    assert (await writer.commit()).offset == size
    step = filestore.WRITEBACK_EVERY
    assert calls == [(100, step), (100 + step, step)]
