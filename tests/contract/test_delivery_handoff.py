"""Handing segment bytes off the Python process: X-Accel-Redirect for a local store behind
nginx, a presigned redirect for S3 (on moto's server, followed over HTTP as a browser would)."""

from __future__ import annotations

from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reelhouse.delivery.files import ObjectServer
from reelhouse.storage.local import LocalObjectStore
from reelhouse.storage.protocols import ObjectStore

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
