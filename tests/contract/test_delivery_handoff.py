"""Handing segment bytes off the Python process: X-Accel-Redirect for a local store behind
nginx, a presigned redirect for S3 (on moto's server, followed over HTTP as a browser would);
and, without a hand-off, the two ways a local file is sent (read whole, or streamed)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reelhouse.delivery.errors import PlaybackNotFound
from reelhouse.delivery.files import ObjectServer
from reelhouse.storage.errors import ObjectNotFound, StorageError
from reelhouse.storage.local import LocalObjectStore
from reelhouse.storage.protocols import ObjectInfo, ObjectStore

from .conftest import s3_store

KEY = "env/e/assets/a/v1/720p/seg_00001.m4s"
BODY = bytes(range(256)) * 64


def app_for(server: ObjectServer) -> Starlette:
    async def serve(request: Request) -> Response:
        return await server.serve(request, KEY, cache_control="public, max-age=60")

    return Starlette(routes=[Route("/seg", serve, methods=["GET", "HEAD"])])


async def fetch(server: ObjectServer, headers: dict[str, str] | None = None) -> httpx.Response:
    transport = httpx.ASGITransport(app=app_for(server))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get("/seg", headers=headers or {})


async def put(store: ObjectStore) -> None:
    await store.put_bytes(KEY, BODY)


async def test_local_store_hands_off_to_nginx(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects", fsync=False)
    await put(store)
    response = await fetch(ObjectServer(store, accel_prefix="/_objects/"))
    assert response.status_code == 200 and response.content == b""
    assert response.headers["x-accel-redirect"] == "/_objects/" + KEY
    assert response.headers["content-type"] == "video/iso.segment"
    assert response.headers["cache-control"] == "public, max-age=60"
    etag = response.headers["etag"]
    again = await fetch(ObjectServer(store, accel_prefix="/_objects/"), {"If-None-Match": etag})
    assert again.status_code == 304


async def test_without_a_hand_off_the_bytes_are_served(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects", fsync=False)
    await put(store)
    response = await fetch(ObjectServer(store))
    assert response.status_code == 200 and response.content == BODY


async def test_s3_store_redirects_to_a_presigned_url(s3_endpoint: str) -> None:
    store = s3_store(s3_endpoint, prefix="handoff")
    await put(store)
    response = await fetch(ObjectServer(store, presign_seconds=600))
    assert response.status_code == 307
    assert response.headers["access-control-allow-origin"] == "*"
    followed = httpx.get(response.headers["location"], timeout=30)
    assert followed.status_code == 200 and followed.content == BODY


async def test_presign_is_ignored_for_a_store_that_cannot(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects", fsync=False)
    await put(store)
    response = await fetch(ObjectServer(store, presign_seconds=600))
    assert response.status_code == 200 and response.content == BODY


async def test_s3_store_streams_the_bytes_without_a_hand_off(s3_endpoint: str) -> None:
    store = s3_store(s3_endpoint, prefix="streamed")
    await put(store)
    response = await fetch(ObjectServer(store))
    assert response.status_code == 200 and response.content == BODY
    assert response.headers["last-modified"].endswith("GMT")
    partial = await fetch(ObjectServer(store), {"Range": "bytes=10-19"})
    assert partial.status_code == 206 and partial.content == BODY[10:20]


@pytest.mark.parametrize("whole_read_bytes", [0, len(BODY) - 1, len(BODY)], ids=str)
async def test_local_files_read_whole_or_streamed_answer_alike(
    tmp_path: Path, whole_read_bytes: int
) -> None:
    """Objects up to ``whole_read_bytes`` are read in one call; larger ones (or all, with 0)
    go through FileResponse: bodies, ranges, HEAD and validators are the same either way."""
    store = LocalObjectStore(tmp_path / "objects", fsync=False)
    await put(store)
    server = ObjectServer(store, whole_read_bytes=whole_read_bytes)
    whole = await fetch(server)
    assert whole.status_code == 200 and whole.content == BODY
    assert whole.headers["content-length"] == str(len(BODY))
    assert whole.headers["content-type"] == "video/iso.segment"
    partial = await fetch(server, {"Range": "bytes=10-19"})
    assert partial.status_code == 206 and partial.content == BODY[10:20]
    assert partial.headers["content-range"] == f"bytes 10-19/{len(BODY)}"
    suffix = await fetch(server, {"Range": "bytes=-5"})
    assert suffix.status_code == 206 and suffix.content == BODY[-5:]
    past = await fetch(server, {"Range": f"bytes={len(BODY)}-"})
    assert past.status_code == 416
    assert past.headers["content-range"] == f"bytes */{len(BODY)}"
    assert (await fetch(server, {"If-None-Match": whole.headers["etag"]})).status_code == 304
    transport = httpx.ASGITransport(app=app_for(server))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        head = await client.head("/seg")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(BODY))


async def test_read_whole_returns_bytes_only_up_to_the_limit(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects", fsync=False)
    await put(store)
    info, data = await store.read_whole(KEY, len(BODY))
    assert data == BODY and info.size == len(BODY)
    assert info.etag == (await store.stat(KEY)).etag
    info, data = await store.read_whole(KEY, len(BODY) - 1)
    assert data is None and info.size == len(BODY)
    with pytest.raises(ObjectNotFound):
        await store.read_whole("env/e/assets/a/v1/720p/missing.m4s", 1 << 20)


async def test_a_directory_swapped_for_a_symlink_is_refused_on_first_use(tmp_path: Path) -> None:
    """The store remembers directories it has checked; one it has not seen yet is checked."""
    store = LocalObjectStore(tmp_path / "objects", fsync=False)
    outside = tmp_path / "outside" / "v2"
    outside.mkdir(parents=True)
    (outside / "seg.m4s").write_bytes(b"secret")
    link = tmp_path / "objects" / "env" / "e" / "assets" / "a" / "v2"
    link.parent.mkdir(parents=True)
    link.symlink_to(outside)
    with pytest.raises(StorageError, match="outside the store's root"):
        await store.read_whole("env/e/assets/a/v2/seg.m4s", 1 << 20)


async def test_hot_objects_answer_repeats_without_reading(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects", fsync=False)
    await put(store)
    server = ObjectServer(store, memory_cache_bytes=1 << 20)
    first = await fetch(server)
    (tmp_path / "objects" / KEY).unlink()  # gone from disk, still hot for up to a second
    again = await fetch(server, {"Range": "bytes=0-9"})
    assert first.content == BODY and again.status_code == 206 and again.content == BODY[:10]
    with pytest.raises(PlaybackNotFound):  # a server without the cache reads, and finds none
        await fetch(ObjectServer(store))


async def test_concurrent_misses_share_one_read(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects", fsync=False)
    await put(store)
    reads: list[str] = []
    real_read = store.read_whole

    async def counted(key: str, limit: int) -> tuple[ObjectInfo, bytes | None]:
        reads.append(key)
        await asyncio.sleep(0.01)
        return await real_read(key, limit)

    store.read_whole = counted  # type: ignore[method-assign]
    server = ObjectServer(store, memory_cache_bytes=1 << 20)
    transport = httpx.ASGITransport(app=app_for(server))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answers = await asyncio.gather(*(client.get("/seg") for _ in range(20)))
    assert all(a.status_code == 200 and a.content == BODY for a in answers)
    assert reads == [KEY]
