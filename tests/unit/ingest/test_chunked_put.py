"""Chunked PUT as Google resumable uploads and @mux/upchunk speak it."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import httpx
import pytest

from .conftest import MAX_SIZE, Harness

DATA = bytes(range(256)) * 4  # 1024 bytes
TOTAL = len(DATA)
URL = "/upload/direct1"


async def put_range(
    client: httpx.AsyncClient, first: int, last: int, total: int | str = TOTAL, url: str = URL
) -> httpx.Response:
    headers = {"Content-Range": f"bytes {first}-{last}/{total}"}
    return await client.put(url, content=DATA[first : last + 1], headers=headers)


async def query(client: httpx.AsyncClient, total: int | str = TOTAL) -> httpx.Response:
    return await client.put(URL, content=b"", headers={"Content-Range": f"bytes */{total}"})


def held(response: httpx.Response) -> int:
    """Bytes the server holds according to a 308's Range header."""
    assert response.status_code == 308, response.text
    if "range" not in response.headers:
        return 0
    prefix, last = response.headers["range"].split("-")
    assert prefix == "bytes=0"
    return int(last) + 1


async def test_chunks_get_308_then_200_with_sha256(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    assert held(await query(client)) == 0
    response = await put_range(client, 0, 255)
    assert response.headers["range"] == "bytes=0-255"
    assert held(await put_range(client, 256, 767)) == 768
    assert held(await query(client)) == 768
    response = await put_range(client, 768, TOTAL - 1)
    assert response.status_code == 200
    body = response.json()["data"]
    assert body == {"id": "direct1", "size": TOTAL, "sha256": hashlib.sha256(DATA).hexdigest()}
    # The offset query after completion answers 200 as well, and nothing runs twice.
    assert (await query(client)).json()["data"]["size"] == TOTAL
    assert (await put_range(client, 768, TOTAL - 1)).status_code == 200
    assert harness.stored_bytes("direct1") == DATA
    assert [i.id for i in harness.hooks.finished] == ["direct1"]


async def test_resent_overlapping_chunk_is_idempotent(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    assert held(await put_range(client, 0, 499)) == 500
    assert held(await put_range(client, 0, 499)) == 500  # wholly stored already
    assert held(await put_range(client, 200, 699)) == 700  # half old, half new
    assert held(await put_range(client, 100, 299)) == 700
    assert (await put_range(client, 600, TOTAL - 1)).status_code == 200
    assert harness.stored_bytes("direct1") == DATA
    assert harness.hooks.finished[0].sha256 == hashlib.sha256(DATA).hexdigest()


async def test_chunk_after_a_gap_is_not_stored(client: httpx.AsyncClient, harness: Harness) -> None:
    assert held(await put_range(client, 0, 99)) == 100
    assert held(await put_range(client, 200, 299)) == 100
    assert harness.stored_size("direct1") == 100


async def test_whole_file_put(client: httpx.AsyncClient, harness: Harness) -> None:
    response = await client.put(URL, content=DATA, headers={"Content-Type": "video/mp4"})
    assert response.status_code == 200
    assert response.json()["data"]["sha256"] == hashlib.sha256(DATA).hexdigest()
    assert harness.hooks.finished[0].metadata == {"filetype": "video/mp4"}


async def test_whole_file_put_with_unknown_length(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    async def stream() -> AsyncIterator[bytes]:
        yield DATA[:500]
        yield DATA[500:]

    response = await client.put(URL, content=stream())
    assert response.status_code == 200, response.text
    assert response.json()["data"]["size"] == TOTAL
    assert harness.hooks.finished[0].sha256 == hashlib.sha256(DATA).hexdigest()


async def test_empty_whole_file_put(client: httpx.AsyncClient, harness: Harness) -> None:
    response = await client.put(URL, content=b"")
    assert response.status_code == 200
    assert response.json()["data"]["size"] == 0
    assert len(harness.hooks.finished) == 1


async def test_whole_file_put_over_a_partial_upload_is_409(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    assert held(await put_range(client, 0, 99)) == 100
    response = await client.put(URL, content=DATA)
    assert response.status_code == 409
    assert held(await query(client)) == 100
    assert harness.stored_size("direct1") == 100


@pytest.mark.parametrize(
    ("headers", "content", "status"),
    [
        ({"Content-Range": f"bytes 100-199/{TOTAL + 1}"}, DATA[100:200], 400),  # total changed
        ({"Content-Range": f"bytes 100-{TOTAL}/{TOTAL}"}, DATA[100:] + b"!", 400),  # past total
        ({"Content-Range": "bytes 199-100/1024"}, b"", 400),
        ({"Content-Range": "bytes 100-199"}, DATA[100:200], 400),
        ({"Content-Range": "items 100-199/1024"}, DATA[100:200], 400),
        ({"Content-Range": "bytes -1-199/1024"}, DATA[100:200], 400),
        ({"Content-Range": "bytes 100-199/1024"}, DATA[100:150], 400),  # Content-Length differs
        ({"Content-Range": f"bytes 100-199/{MAX_SIZE + 1}"}, DATA[100:200], 413),
    ],
)
async def test_bad_chunks(
    client: httpx.AsyncClient,
    harness: Harness,
    headers: dict[str, str],
    content: bytes,
    status: int,
) -> None:
    assert held(await put_range(client, 0, 99)) == 100
    response = await client.put(URL, content=content, headers=headers)
    assert response.status_code == status, response.text
    assert response.json()["error"]["messages"]
    assert held(await query(client)) == 100
    assert harness.stored_size("direct1") == 100


async def test_unknown_total_declared_by_the_last_chunk(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    assert held(await put_range(client, 0, 499, total="*")) == 500
    assert held(await query(client, total="*")) == 500
    assert (await put_range(client, 500, TOTAL - 1)).status_code == 200
    assert harness.hooks.finished[0].sha256 == hashlib.sha256(DATA).hexdigest()


@pytest.mark.parametrize("existing", [False, True])
async def test_refused_target_is_410_with_json(
    client: httpx.AsyncClient, harness: Harness, existing: bool
) -> None:
    if existing:
        assert held(await put_range(client, 0, 99)) == 100
    harness.hooks.refused_targets.add("direct1")
    response = await put_range(client, 100 if existing else 0, 199)
    assert response.status_code == 410
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["type"] == "cancelled"
    assert harness.stored_size("direct1") == (100 if existing else 0)
    assert harness.hooks.finished == []


async def test_chunked_put_and_tus_share_the_upload(client: httpx.AsyncClient) -> None:
    assert held(await put_range(client, 0, 99)) == 100
    response = await client.head(URL, headers={"Tus-Resumable": "1.0.0"})
    assert response.headers["upload-offset"] == "100"
    assert response.headers["upload-length"] == str(TOTAL)
