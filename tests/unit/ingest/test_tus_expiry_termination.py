"""tus expiration (Upload-Expires, 410 once expired) and termination (DELETE)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
import pytest

from .conftest import OCTETS, PATCH, TUS, Harness, create, offset_of, patch, upload_id

DATA = b"x" * 300


async def test_upload_expires_on_post_patch_and_head(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    harness.hooks.expires_at = expires
    response = await client.post("/files/", headers={**TUS, "Upload-Length": str(len(DATA))})
    assert parsedate_to_datetime(response.headers["upload-expires"]) == expires
    assert response.headers["upload-expires"].endswith(" GMT")
    url = response.headers["location"]
    response = await patch(client, url, 0, DATA[:100])
    assert parsedate_to_datetime(response.headers["upload-expires"]) == expires
    response = await client.head(url, headers=TUS)
    assert parsedate_to_datetime(response.headers["upload-expires"]) == expires
    # A finished upload no longer expires.
    response = await patch(client, url, 100, DATA[100:])
    assert "upload-expires" not in response.headers


@pytest.mark.parametrize(
    ("method", "headers"),
    [
        ("HEAD", TUS),
        ("PATCH", {**PATCH, "Upload-Offset": "100"}),
        ("DELETE", TUS),
    ],
)
async def test_expired_upload_is_410(
    client: httpx.AsyncClient, harness: Harness, method: str, headers: dict[str, str]
) -> None:
    harness.hooks.expires_at = datetime.now(UTC) + timedelta(hours=1)
    url = await create(client, len(DATA))
    assert (await patch(client, url, 0, DATA[:100])).status_code == 204
    harness.now = datetime.now(UTC) + timedelta(hours=2)
    response = await client.request(method, url, headers=headers, content=DATA[100:200])
    assert response.status_code == 410
    assert "upload-offset" not in response.headers
    assert harness.stored_size(upload_id(url)) == 100
    assert harness.hooks.terminated == []


async def test_upload_created_already_expired_is_410(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    harness.hooks.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    url = await create(client, len(DATA))
    assert (await client.head(url, headers=TUS)).status_code == 410
    response = await patch(client, url, 0, DATA)
    assert response.status_code == 410
    assert harness.stored_size(upload_id(url)) == 0


async def test_finished_upload_does_not_expire(client: httpx.AsyncClient, harness: Harness) -> None:
    harness.hooks.expires_at = datetime.now(UTC) + timedelta(hours=1)
    url = await create(client, len(DATA))
    assert (await patch(client, url, 0, DATA)).status_code == 204
    harness.now = datetime.now(UTC) + timedelta(hours=2)
    assert await offset_of(client, url) == len(DATA)


async def test_delete_is_204_then_404(client: httpx.AsyncClient, harness: Harness) -> None:
    url = await create(client, len(DATA))
    assert (await patch(client, url, 0, DATA[:100])).status_code == 204
    response = await client.delete(url, headers=TUS)
    assert response.status_code == 204
    assert harness.hooks.terminated == [upload_id(url)]
    assert harness.files() == set()
    for method in ("HEAD", "PATCH", "DELETE"):
        headers = {**TUS, "Content-Type": OCTETS, "Upload-Offset": "100"}
        response = await client.request(method, url, headers=headers, content=b"abc")
        assert response.status_code == 404, method
    assert harness.hooks.terminated == [upload_id(url)]
    assert harness.hooks.finished == []


async def test_delete_after_a_discarded_checksum_chunk_leaves_nothing(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    url = await create(client, len(DATA))
    bad = {"Upload-Checksum": "sha1 " + "A" * 27 + "="}
    assert (await patch(client, url, 0, DATA, **bad)).status_code == 460
    assert (await client.delete(url, headers=TUS)).status_code == 204
    assert harness.files() == set()
