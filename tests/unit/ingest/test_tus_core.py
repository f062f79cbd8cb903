"""tus 1.0 core: version negotiation, OPTIONS, HEAD, PATCH and the errors that protect an offset."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from .conftest import MAX_SIZE, PATCH, TUS, Harness, create, offset_of, patch, upload_id

DATA = bytes(range(256)) * 4  # 1024 bytes
FIRST = 100


@pytest.fixture
async def started(client: httpx.AsyncClient) -> str:
    """An upload of len(DATA) bytes holding its first FIRST bytes."""
    url = await create(client, len(DATA))
    response = await patch(client, url, 0, DATA[:FIRST])
    assert response.status_code == 204, response.text
    return url


async def test_options_advertises_without_tus_resumable(client: httpx.AsyncClient) -> None:
    response = await client.options("/files/")
    assert response.status_code == 200
    assert response.headers["tus-version"] == "1.0.0"
    assert response.headers["tus-resumable"] == "1.0.0"
    assert set(response.headers["tus-extension"].split(",")) == {
        "creation",
        "creation-with-upload",
        "creation-defer-length",
        "expiration",
        "termination",
        "checksum",
        "concatenation",
        "concatenation-unfinished",
    }
    assert response.headers["tus-max-size"] == str(MAX_SIZE)
    assert set(response.headers["tus-checksum-algorithm"].split(",")) == {"sha1", "sha256", "md5"}


@pytest.mark.parametrize("version", [None, "0.2.2", "1.0", ""])
@pytest.mark.parametrize("method", ["POST", "HEAD", "PATCH", "DELETE"])
async def test_wrong_tus_version_is_412_and_nothing_happens(
    client: httpx.AsyncClient, harness: Harness, started: str, method: str, version: str | None
) -> None:
    headers = {"Content-Type": "application/offset+octet-stream", "Upload-Offset": str(FIRST)}
    if version is not None:
        headers["Tus-Resumable"] = version
    path = "/files/" if method == "POST" else started
    if method == "POST":
        headers["Upload-Length"] = "10"
    content = DATA[FIRST:] if method in ("PATCH", "POST") else None
    before = harness.files()
    response = await client.request(method, path, headers=headers, content=content)
    assert response.status_code == 412
    assert response.headers["tus-version"] == "1.0.0"
    assert await offset_of(client, started) == FIRST
    assert harness.stored_size(upload_id(started)) == FIRST
    assert harness.files() == before


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Content-Type": "application/octet-stream"}, 415),
        ({"Content-Type": "text/plain"}, 415),
        ({"Content-Type": ""}, 415),
        ({"Upload-Offset": "0"}, 409),
        ({"Upload-Offset": str(FIRST + 1)}, 409),
        ({"Upload-Offset": "-1"}, 400),
        ({"Upload-Offset": "ten"}, 400),
        ({"Upload-Offset": ""}, 400),
        ({"Upload-Length": "5"}, 400),  # the length is known and cannot change
        ({"Upload-Checksum": "sha1"}, 400),
        ({"Upload-Checksum": "crc32 AAAAAA=="}, 400),
        ({"Upload-Checksum": "sha1 not*base64"}, 400),
    ],
)
async def test_patch_rejected_before_reading(
    client: httpx.AsyncClient, harness: Harness, started: str, headers: dict[str, str], status: int
) -> None:
    sent = {**PATCH, "Upload-Offset": str(FIRST), **headers}
    response = await client.patch(started, content=DATA[FIRST:], headers=sent)
    assert response.status_code == status, response.text
    assert response.json()["error"]["messages"]
    assert await offset_of(client, started) == FIRST
    assert harness.stored_size(upload_id(started)) == FIRST


async def test_offset_mismatch_is_409(
    client: httpx.AsyncClient, harness: Harness, started: str
) -> None:
    response = await patch(client, started, 0, DATA[:FIRST])
    assert response.status_code == 409
    assert response.json()["error"]["type"] == "offset_mismatch"
    assert harness.stored_bytes(upload_id(started)) == DATA[:FIRST]


async def test_patch_without_offset_is_400(
    client: httpx.AsyncClient, harness: Harness, started: str
) -> None:
    response = await client.patch(started, content=b"x", headers=PATCH)
    assert response.status_code == 400
    assert await offset_of(client, started) == FIRST


async def test_patch_past_upload_length_is_413_before_a_byte(
    client: httpx.AsyncClient, harness: Harness, started: str
) -> None:
    response = await patch(client, started, FIRST, DATA[FIRST:] + b"extra")
    assert response.status_code == 413
    assert await offset_of(client, started) == FIRST
    assert harness.stored_size(upload_id(started)) == FIRST
    assert harness.hooks.finished == []


@pytest.mark.parametrize("method", ["HEAD", "PATCH", "DELETE"])
async def test_unknown_upload_is_404(
    client: httpx.AsyncClient, harness: Harness, method: str
) -> None:
    headers = {**PATCH, "Upload-Offset": "0"}
    response = await client.request(method, "/files/nosuchupload", headers=headers, content=b"abc")
    assert response.status_code == 404
    assert "upload-offset" not in response.headers
    assert harness.files() == set()


async def test_unsupported_method_is_405(client: httpx.AsyncClient, started: str) -> None:
    response = await client.get(started, headers=TUS)
    assert response.status_code == 405
    assert "PATCH" in response.headers["allow"]


async def test_head_reports_offset_length_and_no_store(
    client: httpx.AsyncClient, started: str
) -> None:
    response = await client.head(started, headers=TUS)
    assert response.status_code == 200
    assert response.headers["upload-offset"] == str(FIRST)
    assert response.headers["upload-length"] == str(len(DATA))
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["tus-resumable"] == "1.0.0"
    assert "upload-defer-length" not in response.headers
    assert "upload-concat" not in response.headers
    assert "upload-metadata" not in response.headers


async def test_patches_complete_the_upload_and_finish_runs_once(
    client: httpx.AsyncClient, harness: Harness, started: str
) -> None:
    response = await patch(client, started, FIRST, DATA[FIRST:500])
    assert (response.status_code, response.headers["upload-offset"]) == (204, "500")
    response = await patch(client, started, 500, DATA[500:])
    assert (response.status_code, response.headers["upload-offset"]) == (204, str(len(DATA)))
    # Repeats after completion neither store bytes nor finish again.
    assert await offset_of(client, started) == len(DATA)
    assert (await patch(client, started, len(DATA), b"")).status_code == 204
    assert (await patch(client, started, len(DATA), b"more")).status_code == 413
    assert (await patch(client, started, 0, DATA)).status_code == 409
    assert await offset_of(client, started) == len(DATA)
    assert [info.id for info in harness.hooks.finished] == [upload_id(started)]
    assert harness.hooks.finished[0].sha256 == hashlib.sha256(DATA).hexdigest()
    assert harness.stored_bytes(upload_id(started)) == DATA
    assert harness.hooks.received == len(DATA)


async def test_empty_patch_keeps_offset(client: httpx.AsyncClient, started: str) -> None:
    response = await patch(client, started, FIRST, b"")
    assert (response.status_code, response.headers["upload-offset"]) == (204, str(FIRST))


@pytest.mark.parametrize(
    ("override", "status"),
    [("PATCH", 204), ("patch", 204), ("HEAD", 200), ("DELETE", 204)],
)
async def test_method_override_on_post(
    client: httpx.AsyncClient, harness: Harness, started: str, override: str, status: int
) -> None:
    headers = {**PATCH, "Upload-Offset": str(FIRST), "X-HTTP-Method-Override": override}
    content = DATA[FIRST:200] if override.upper() == "PATCH" else None
    response = await client.post(started, headers=headers, content=content)
    assert response.status_code == status, response.text
    if override.upper() == "DELETE":
        assert (await client.head(started, headers=TUS)).status_code == 404
        assert harness.hooks.terminated == [upload_id(started)]
    elif override.upper() == "HEAD":
        assert response.headers["upload-offset"] == str(FIRST)
        assert response.headers["cache-control"] == "no-store"
    else:
        assert response.headers["upload-offset"] == "200"
        assert await offset_of(client, started) == 200


async def test_method_override_only_honoured_on_post(
    client: httpx.AsyncClient, harness: Harness, started: str
) -> None:
    headers = {**TUS, "X-HTTP-Method-Override": "DELETE"}
    response = await client.head(started, headers=headers)
    assert response.status_code == 200
    assert await offset_of(client, started) == FIRST
    assert harness.hooks.terminated == []
