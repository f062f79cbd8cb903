"""The contract every ObjectStore keeps (S3's: security.md §1.1), run against every backend."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from reelhouse.storage.errors import InvalidKey, InvalidRange, ObjectNotFound, StorageError
from reelhouse.storage.protocols import (
    LocalPaths,
    Multipart,
    ObjectInfo,
    ObjectStore,
    Presigning,
    StoreAbilities,
)

DATA = bytes(range(256)) * 40  # 10240 bytes, every byte value, position-dependent


async def read_range(store: ObjectStore, key: str, start: int, end: int | None) -> bytes:
    async with contextlib.aclosing(store.open_range(key, start, end)) as chunks:
        return b"".join([chunk async for chunk in chunks])


async def listed(store: ObjectStore, prefix: str = "") -> list[ObjectInfo]:
    return [info async for info in store.list(prefix)]


async def test_put_bytes_then_get_bytes(store: ObjectStore) -> None:
    await store.put_bytes("a/b/data.bin", DATA)
    await store.put_bytes("empty", b"")

    assert await store.get_bytes("a/b/data.bin") == DATA
    assert await store.get_bytes("empty") == b""
    assert await store.exists("a/b/data.bin")


async def test_put_file_streams_a_large_file(store: ObjectStore, tmp_path: Path) -> None:
    data = os.urandom(20 << 20)  # S3 goes multipart from 8 MiB
    source = tmp_path / "big.mp4"
    source.write_bytes(data)

    await store.put_file("big/highest.mp4", source)

    info = await store.stat("big/highest.mp4")
    assert info.size == len(data)
    assert info.content_type == "video/mp4"
    if isinstance(store, Multipart):
        assert info.etag.endswith("-3")  # went up as three 8 MiB parts, not one PUT
    target = tmp_path / "out" / "copy.mp4"
    await store.download_to("big/highest.mp4", target)
    assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(data).digest()
    async with contextlib.aclosing(store.open_range("big/highest.mp4")) as chunks:
        first = await anext(chunks)  # and stop early: the rest is never read
    assert 0 < len(first) <= 1 << 20
    assert first == data[: len(first)]
    middle = 12 << 20
    assert (
        await read_range(store, "big/highest.mp4", middle - 5, middle + (3 << 20))
        == (data[middle - 5 : middle + (3 << 20) + 1])
    )


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (0, 0, DATA[:1]),
        (1000, 4999, DATA[1000:5000]),
        (len(DATA) - 1, len(DATA) - 1, DATA[-1:]),
        (len(DATA) - 1, None, DATA[-1:]),
        (0, None, DATA),
        (0, len(DATA) - 1, DATA),
        (100, len(DATA) + 1000, DATA[100:]),
    ],
    ids=["first-byte", "middle", "last-byte", "last-open", "whole", "whole-explicit", "clamped"],
)
async def test_open_range_is_inclusive(
    store: ObjectStore, start: int, end: int | None, expected: bytes
) -> None:
    await store.put_bytes("r.bin", DATA)

    assert await read_range(store, "r.bin", start, end) == expected


async def test_open_range_outside_the_object(store: ObjectStore) -> None:
    await store.put_bytes("r.bin", DATA)
    await store.put_bytes("empty", b"")

    with pytest.raises(InvalidRange):
        await read_range(store, "r.bin", len(DATA), None)
    with pytest.raises(InvalidRange):
        await read_range(store, "empty", 0, 0)
    with pytest.raises(ValueError):
        await read_range(store, "r.bin", -1, 5)
    with pytest.raises(ValueError):
        await read_range(store, "r.bin", 5, 4)
    assert await read_range(store, "empty", 0, None) == b""


async def test_stat(store: ObjectStore) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    await store.put_bytes("v1/master.m3u8", b"#EXTM3U\n")
    await store.put_bytes("v1/poster", b"\xff\xd8", content_type="image/jpeg")
    await store.put_bytes("v1/blob", b"x")

    info = await store.stat("v1/master.m3u8")
    assert info.key == "v1/master.m3u8"
    assert info.size == 8
    assert info.etag == hashlib.md5(b"#EXTM3U\n").hexdigest()  # single-part writes
    assert info.content_type == "application/vnd.apple.mpegurl"
    assert before <= info.modified <= datetime.now(UTC) + timedelta(seconds=5)
    assert (await store.stat("v1/poster")).content_type == "image/jpeg"
    assert (await store.stat("v1/blob")).content_type == "application/octet-stream"


async def test_overwrite_changes_content_and_etag(store: ObjectStore) -> None:
    await store.put_bytes("k", b"old")
    old = await store.stat("k")
    await store.put_bytes("k", b"newer")

    assert await store.get_bytes("k") == b"newer"
    new = await store.stat("k")
    assert (new.size, new.etag != old.etag) == (5, True)


async def test_missing_keys(store: ObjectStore, tmp_path: Path) -> None:
    await store.put_bytes("present", b"x")

    for attempt in (
        store.get_bytes("absent"),
        store.stat("absent"),
        read_range(store, "absent", 0, None),
        store.download_to("absent", tmp_path / "absent"),
        store.get_bytes("present/child"),
    ):
        with pytest.raises(ObjectNotFound) as caught:
            await attempt
        assert caught.value.key in ("absent", "present/child")
    assert not await store.exists("absent")
    assert not (tmp_path / "absent").exists()


async def test_delete_is_idempotent(store: ObjectStore) -> None:
    await store.put_bytes("a/b", b"x")

    await store.delete("a/b")
    await store.delete("a/b")
    await store.delete("never/was")

    assert not await store.exists("a/b")
    with pytest.raises(ObjectNotFound):
        await store.get_bytes("a/b")


async def test_delete_prefix(store: ObjectStore) -> None:
    keys = ["v1/master.m3u8", "v1/720p/seg_1.m4s", "v1/720p/seg_2.m4s", "v10/master.m3u8"]
    for key in [*keys, "v2/master.m3u8"]:
        await store.put_bytes(key, b"x")

    assert await store.delete_prefix("v1/") == 3
    assert await store.delete_prefix("v1/") == 0
    assert [info.key for info in await listed(store)] == ["v10/master.m3u8", "v2/master.m3u8"]
    assert await store.delete_prefix("v") == 2
    assert await listed(store) == []
    with pytest.raises(InvalidKey):
        await store.delete_prefix("")


async def test_list_by_prefix_in_key_order(store: ObjectStore) -> None:
    keys = ["a/b/1", "a/b/2/x", "a/bc/1", "a/b.txt", "a/b-c", "b", "a/b/10"]
    for key in keys:
        await store.put_bytes(key, key.encode())

    everything = await listed(store)
    assert [info.key for info in everything] == sorted(keys, key=lambda k: k.encode())
    assert [info.key for info in await listed(store, "a/b/")] == ["a/b/1", "a/b/10", "a/b/2/x"]
    assert [info.key for info in await listed(store, "a/b")] == [
        "a/b-c",
        "a/b.txt",
        "a/b/1",
        "a/b/10",
        "a/b/2/x",
        "a/bc/1",
    ]
    assert await listed(store, "nothing/") == []
    first = everything[0]
    assert (first.size, first.etag) == (len(first.key), hashlib.md5(first.key.encode()).hexdigest())


@pytest.mark.parametrize(
    "key",
    [
        "",
        "/abs",
        "a/../b",
        "..",
        "a/./b",
        "a//b",
        "a/",
        "a\\b",
        "nul\x00",
        "tab\tkey",
        "x" * 1025,
        ".~rh-temp",
    ],
)
async def test_invalid_keys_are_rejected(store: ObjectStore, key: str, tmp_path: Path) -> None:
    source = tmp_path / "f"
    source.write_bytes(b"x")

    for attempt in (
        store.put_bytes(key, b"x"),
        store.put_file(key, source),
        store.get_bytes(key),
        store.stat(key),
        store.exists(key),
        store.delete(key),
        read_range(store, key, 0, None),
    ):
        with pytest.raises(InvalidKey):
            await attempt
    with pytest.raises(InvalidKey):
        await listed(store, "../")


async def test_overwrite_is_atomic_for_readers(store: ObjectStore) -> None:
    size = 1 << 20
    versions = [b"a" * size, b"b" * size]
    await store.put_bytes("hot", versions[0])
    seen: set[bytes] = set()
    stop = asyncio.Event()

    async def writer() -> None:
        for i in range(20):
            await store.put_bytes("hot", versions[i % 2])
        stop.set()

    async def reader() -> None:
        while not stop.is_set():
            data = await store.get_bytes("hot")
            assert data in versions, f"partial read: {len(data)} bytes, {set(data)}"
            seen.add(data[:1])

    await asyncio.gather(writer(), reader(), reader())
    assert seen  # the readers ran


async def test_foreign_errors_become_storage_errors(store: ObjectStore, tmp_path: Path) -> None:
    with pytest.raises(StorageError) as caught:
        await store.put_file("k", tmp_path / "no-such-file")

    assert not isinstance(caught.value, ObjectNotFound)
    assert caught.value.__cause__ is not None


async def test_download_to_replaces_the_target(store: ObjectStore, tmp_path: Path) -> None:
    await store.put_bytes("k", DATA)
    target = tmp_path / "scratch" / "target"
    target.parent.mkdir()
    target.write_bytes(b"previous contents, longer than nothing")

    await store.download_to("k", target)

    assert target.read_bytes() == DATA
    assert [p.name for p in target.parent.iterdir()] == ["target"]


async def test_presigned_url_fetches_the_object(store: ObjectStore) -> None:
    if not isinstance(store, Presigning):
        pytest.skip("this store cannot presign")
    await store.put_bytes("v1/static/highest.mp4", DATA)

    url = await store.presign_get("v1/static/highest.mp4", 60)
    named = await store.presign_get("v1/static/highest.mp4", 60, filename='My "clip" é.mp4')

    async with httpx.AsyncClient() as client:
        response = await client.get(url)
        assert (response.status_code, response.content) == (200, DATA)
        response = await client.get(named)
        assert response.content == DATA
        disposition = response.headers["content-disposition"]
        assert disposition.startswith('attachment; filename="My _clip_ _.mp4"')
        assert "filename*=UTF-8''My%20%22clip%22%20%C3%A9.mp4" in disposition
    with pytest.raises(ValueError):
        await store.presign_get("k", 0)


async def test_multipart_upload(store: ObjectStore) -> None:
    if not isinstance(store, Multipart):
        pytest.skip("this store has no multipart uploads")
    first, last = os.urandom(5 << 20), b"tail"
    upload_id = await store.start_multipart("up/source")
    assert not await store.exists("up/source")

    part2 = await store.upload_part("up/source", upload_id, 2, last)
    part1 = await store.upload_part("up/source", upload_id, 1, first)
    assert await store.list_parts("up/source", upload_id) == [part1, part2]
    await store.complete_multipart("up/source", upload_id, [part2, part1])

    assert await store.get_bytes("up/source") == first + last
    other = await store.start_multipart("up/other")
    await store.abort_multipart("up/other", other)
    await store.abort_multipart("up/other", other)
    with pytest.raises(StorageError):
        await store.list_parts("up/other", other)
    with pytest.raises(ValueError):
        await store.upload_part("up/source", upload_id, 0, b"x")


def test_abilities(store: ObjectStore) -> None:
    abilities = StoreAbilities.of(store)

    assert abilities.local_paths == isinstance(store, LocalPaths)
    assert abilities.local_paths != abilities.presigning  # local disk, or a bucket
    assert abilities.multipart == abilities.presigning
