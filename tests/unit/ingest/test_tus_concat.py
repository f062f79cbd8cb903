"""tus concatenation, including a final upload created before its partials are finished."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from .conftest import (
    OCTETS,
    TUS,
    Harness,
    create,
    offset_of,
    patch,
    stalled_patch,
    upload_id,
)

PARTS = [b"a" * 100, b"b" * 50, b"c" * 75]
WHOLE = b"".join(PARTS)


async def _partials(client: httpx.AsyncClient) -> list[str]:
    return [await create(client, len(p), **{"Upload-Concat": "partial"}) for p in PARTS]


async def _final(client: httpx.AsyncClient, urls: list[str], **headers: str) -> httpx.Response:
    concat = "final;" + " ".join(urls)
    return await client.post("/files/", headers={**TUS, "Upload-Concat": concat, **headers})


async def test_final_created_before_partials_finish(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    urls = await _partials(client)
    assert (await patch(client, urls[0], 0, PARTS[0])).status_code == 204
    assert (await patch(client, urls[1], 0, PARTS[1][:20])).status_code == 204
    response = await _final(client, urls)
    assert response.status_code == 201, response.text
    final = response.headers["location"]

    head = await client.head(final, headers=TUS)
    assert head.status_code == 200
    assert "upload-offset" not in head.headers
    assert head.headers["upload-length"] == str(len(WHOLE))
    assert head.headers["upload-concat"] == "final;" + " ".join(urls)
    assert head.headers["cache-control"] == "no-store"
    partial_head = await client.head(urls[0], headers=TUS)
    assert partial_head.headers["upload-concat"] == "partial"

    assert (await patch(client, urls[1], 20, PARTS[1][20:])).status_code == 204
    assert "upload-offset" not in (await client.head(final, headers=TUS)).headers
    assert harness.hooks.finished == []
    assert (await patch(client, urls[2], 0, PARTS[2])).status_code == 204

    assert await offset_of(client, final) == len(WHOLE)
    assert harness.stored_bytes(upload_id(final)) == WHOLE
    assert [i.id for i in harness.hooks.finished] == [upload_id(final)]
    assert harness.hooks.finished[0].sha256 == hashlib.sha256(WHOLE).hexdigest()
    await offset_of(client, final)
    assert len(harness.hooks.finished) == 1


async def test_final_of_finished_partials_is_complete_at_once(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    urls = await _partials(client)
    for url, part in zip(urls, PARTS, strict=True):
        assert (await patch(client, url, 0, part)).status_code == 204
    # Relative URLs work as well as absolute ones.
    response = await _final(client, [url.removeprefix("http://testserver") for url in urls])
    assert response.status_code == 201
    final = response.headers["location"]
    assert await offset_of(client, final) == len(WHOLE)
    assert [i.sha256 for i in harness.hooks.finished] == [hashlib.sha256(WHOLE).hexdigest()]


async def test_patch_on_final_is_403(client: httpx.AsyncClient, harness: Harness) -> None:
    urls = await _partials(client)
    final = (await _final(client, urls)).headers["location"]
    response = await patch(client, final, 0, b"x")
    assert response.status_code == 403
    assert "upload-offset" not in (await client.head(final, headers=TUS)).headers
    assert harness.stored_size(upload_id(final)) == 0


@pytest.mark.parametrize(
    ("headers", "final_ids", "status"),
    [
        ({"Upload-Length": "225"}, None, 400),
        ({"Upload-Defer-Length": "1"}, None, 400),
        ({}, ["/files/nosuchpartial"], 400),
        ({}, "whole", 400),  # names an upload that is not a partial
        ({"Content-Type": OCTETS}, None, 400),  # a final cannot carry data
    ],
)
async def test_bad_final(
    client: httpx.AsyncClient,
    harness: Harness,
    headers: dict[str, str],
    final_ids: list[str] | str | None,
    status: int,
) -> None:
    urls = await _partials(client)
    if final_ids == "whole":
        urls = [*urls[:2], await create(client, 10)]
    elif final_ids is not None:
        urls = [urls[0], *final_ids]
    before = harness.files()
    content = b"xyz" if "Content-Type" in headers else None
    response = await client.post(
        "/files/",
        headers={**TUS, "Upload-Concat": "final;" + " ".join(urls), **headers},
        content=content,
    )
    assert response.status_code == status, response.text
    assert harness.files() == before


async def test_partial_finishing_while_final_is_created_still_completes_final(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    """The final is linked to a partial whose PATCH is mid-body; that PATCH keeps the link."""
    urls = await _partials(client)
    for url, part in zip(urls[:2], PARTS[:2], strict=True):
        assert (await patch(client, url, 0, part)).status_code == 204
    last = PARTS[2]
    slow = stalled_patch(harness, urls[2], 0, [last[:10]], total=len(last))
    slow.start()
    await slow.drained.wait()
    final = (await _final(client, urls)).headers["location"]
    slow.resume(last[10:])
    assert await slow.finished() == 204
    assert [i.id for i in harness.hooks.finished] == [upload_id(final)]
    assert harness.stored_bytes(upload_id(final)) == WHOLE
