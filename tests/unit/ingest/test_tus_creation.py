"""tus creation, creation-with-upload and creation-defer-length."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from .conftest import MAX_SIZE, OCTETS, TUS, Harness, create, metadata, offset_of, patch, upload_id

DATA = b"0123456789" * 50


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 400),  # neither length header
        ({"Upload-Length": "-1"}, 400),
        ({"Upload-Length": "12abc"}, 400),
        ({"Upload-Length": ""}, 400),
        ({"Upload-Length": "1" * 20}, 400),
        ({"Upload-Length": "10", "Upload-Defer-Length": "1"}, 400),
        ({"Upload-Defer-Length": "0"}, 400),
        ({"Upload-Defer-Length": "true"}, 400),
        ({"Upload-Length": "10", "Upload-Metadata": "filename"}, 201),  # empty value is allowed
        ({"Upload-Length": "10", "Upload-Metadata": "filename not-base64!"}, 400),
        ({"Upload-Length": "10", "Upload-Metadata": "a YQ==,a Yg=="}, 400),  # duplicate key
        ({"Upload-Length": "10", "Upload-Metadata": "a YQ== extra"}, 400),
        ({"Upload-Length": "10", "Upload-Metadata": " YQ=="}, 400),
        ({"Upload-Length": "10", "Upload-Metadata": "a" * 9000}, 400),
        ({"Upload-Length": "10", "Upload-Concat": "whole"}, 400),
        ({"Upload-Length": "10", "Upload-Concat": "final;"}, 400),
        ({"Upload-Length": str(MAX_SIZE + 1)}, 413),
        ({"Upload-Length": str(MAX_SIZE)}, 201),
        ({"Upload-Length": "0"}, 201),
        ({"Upload-Defer-Length": "1"}, 201),
    ],
)
async def test_creation_headers(
    client: httpx.AsyncClient, harness: Harness, headers: dict[str, str], status: int
) -> None:
    response = await client.post("/files/", headers={**TUS, **headers})
    assert response.status_code == status, response.text
    if status == 201:
        assert response.headers["location"].startswith("http://testserver/files/")
        assert "upload-offset" not in response.headers
    else:
        assert "location" not in response.headers
        assert harness.files() == set()


async def test_creation_with_upload_too_long_body_is_413_before_a_byte(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    headers = {**TUS, "Upload-Length": "5", "Content-Type": OCTETS}
    response = await client.post("/files/", headers=headers, content=b"123456")
    assert response.status_code == 413
    assert harness.files() == set()


async def test_creation_with_upload_returns_offset(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    headers = {**TUS, "Upload-Length": str(len(DATA)), "Content-Type": OCTETS}
    response = await client.post("/files/", headers=headers, content=DATA[:120])
    assert response.status_code == 201, response.text
    assert response.headers["upload-offset"] == "120"
    url = response.headers["location"]
    assert await offset_of(client, url) == 120
    assert harness.stored_bytes(upload_id(url)) == DATA[:120]
    assert (await patch(client, url, 120, DATA[120:])).status_code == 204
    assert [i.sha256 for i in harness.hooks.finished] == [hashlib.sha256(DATA).hexdigest()]


async def test_creation_with_whole_upload_finishes_once(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    headers = {**TUS, "Upload-Length": str(len(DATA)), "Content-Type": OCTETS}
    response = await client.post("/files/", headers=headers, content=DATA)
    assert (response.status_code, response.headers["upload-offset"]) == (201, str(len(DATA)))
    url = response.headers["location"]
    await offset_of(client, url)
    assert (await patch(client, url, len(DATA), b"")).status_code == 204
    assert [i.id for i in harness.hooks.finished] == [upload_id(url)]


async def test_post_body_of_another_type_is_not_upload_data(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    headers = {**TUS, "Upload-Length": "10", "Content-Type": "application/json"}
    response = await client.post("/files/", headers=headers, content=b"{}")
    assert response.status_code == 201
    assert "upload-offset" not in response.headers
    assert harness.stored_size(upload_id(response.headers["location"])) == 0


async def test_zero_length_upload_is_complete_at_once(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    url = await create(client, 0)
    response = await client.head(url, headers=TUS)
    assert response.headers["upload-offset"] == "0"
    assert response.headers["upload-length"] == "0"
    assert (await patch(client, url, 0, b"")).status_code == 204
    assert (await patch(client, url, 0, b"x")).status_code == 413
    await offset_of(client, url)
    assert [i.id for i in harness.hooks.finished] == [upload_id(url)]
    assert harness.hooks.finished[0].sha256 == hashlib.sha256(b"").hexdigest()


async def test_head_echoes_metadata(client: httpx.AsyncClient) -> None:
    sent = metadata(filename="clip.mp4", filetype="video/mp4") + ",flag"
    url = await create(client, 10, **{"Upload-Metadata": sent})
    response = await client.head(url, headers=TUS)
    assert response.headers["upload-metadata"] == sent


async def test_head_echoes_sanitised_filename(client: httpx.AsyncClient, harness: Harness) -> None:
    url = await create(client, 10, **{"Upload-Metadata": metadata(filename="../../etc/pa\r\nsswd")})
    response = await client.head(url, headers=TUS)
    assert response.headers["upload-metadata"] == metadata(filename="passwd")
    assert all("\n" not in v for v in response.headers.values())


async def test_deferred_length_declared_on_a_later_patch(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    url = await create(client, None, **{"Upload-Defer-Length": "1"})
    response = await client.head(url, headers=TUS)
    assert response.headers["upload-defer-length"] == "1"
    assert "upload-length" not in response.headers
    assert (await patch(client, url, 0, DATA[:200])).status_code == 204
    assert harness.hooks.finished == []
    # A length below what is stored, or above the limit, is refused and changes nothing.
    for length, status in [("199", 400), (str(MAX_SIZE + 1), 413), ("-3", 400)]:
        response = await patch(client, url, 200, DATA[200:], **{"Upload-Length": length})
        assert response.status_code == status, length
        assert await offset_of(client, url) == 200
        assert harness.stored_size(upload_id(url)) == 200
    response = await patch(client, url, 200, DATA[200:], **{"Upload-Length": str(len(DATA))})
    assert (response.status_code, response.headers["upload-offset"]) == (204, str(len(DATA)))
    response = await client.head(url, headers=TUS)
    assert response.headers["upload-length"] == str(len(DATA))
    assert "upload-defer-length" not in response.headers
    assert [i.sha256 for i in harness.hooks.finished] == [hashlib.sha256(DATA).hexdigest()]


async def test_deferred_length_declared_by_an_empty_patch(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    url = await create(client, None, **{"Upload-Defer-Length": "1"})
    assert (await patch(client, url, 0, DATA)).status_code == 204
    response = await patch(client, url, len(DATA), b"", **{"Upload-Length": str(len(DATA))})
    assert response.status_code == 204
    assert [i.sha256 for i in harness.hooks.finished] == [hashlib.sha256(DATA).hexdigest()]


async def test_deferred_upload_cannot_grow_past_the_limit(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    harness.hooks.limit = 300
    url = await create(client, None, **{"Upload-Defer-Length": "1"})
    assert (await patch(client, url, 0, DATA[:200])).status_code == 204
    response = await patch(client, url, 200, DATA[200:301])  # one byte past the limit
    assert response.status_code == 413
    assert await offset_of(client, url) == 200
    assert harness.stored_size(upload_id(url)) == 200
    response = await patch(client, url, 200, DATA[200:300], **{"Upload-Length": "300"})
    assert response.status_code == 204
    assert len(harness.hooks.finished) == 1


async def test_direct_upload_target_creates_upload_at_its_url(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    response = await client.post("/upload/direct1", headers={**TUS, "Upload-Length": "10"})
    assert response.status_code == 201
    assert response.headers["location"] == "http://testserver/upload/direct1"
    assert (await patch(client, "/upload/direct1", 0, b"0123456789")).status_code == 204
    assert [i.id for i in harness.hooks.finished] == ["direct1"]
    # Another target cannot see it.
    assert (await client.head("/files/direct1", headers=TUS)).status_code == 404
