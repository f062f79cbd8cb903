"""tus checksum: sha1/sha256/md5 per PATCH; a mismatch is 460 and the chunk is discarded."""

from __future__ import annotations

import base64
import hashlib

import httpx
import pytest

from .conftest import Harness, checksum, create, offset_of, patch, upload_id

DATA = bytes(range(256)) * 3


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "md5"])
async def test_matching_checksum_is_accepted(
    client: httpx.AsyncClient, harness: Harness, algorithm: str
) -> None:
    url = await create(client, len(DATA))
    for start, end in [(0, 300), (300, len(DATA))]:
        chunk = DATA[start:end]
        response = await patch(
            client, url, start, chunk, **{"Upload-Checksum": checksum(algorithm, chunk)}
        )
        assert (response.status_code, response.headers["upload-offset"]) == (204, str(end))
    assert harness.stored_bytes(upload_id(url)) == DATA
    assert [i.sha256 for i in harness.hooks.finished] == [hashlib.sha256(DATA).hexdigest()]
    assert not [name for name in harness.files() if ".stage-" in name]


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "md5"])
async def test_mismatch_is_460_chunk_discarded_then_correct_patch_accepted(
    client: httpx.AsyncClient, harness: Harness, algorithm: str
) -> None:
    url = await create(client, len(DATA))
    assert (await patch(client, url, 0, DATA[:100])).status_code == 204
    wrong = checksum(algorithm, b"something else")
    response = await patch(client, url, 100, DATA[100:400], **{"Upload-Checksum": wrong})
    assert response.status_code == 460
    assert response.json()["error"]["type"] == "checksum_mismatch"
    assert await offset_of(client, url) == 100
    assert harness.stored_size(upload_id(url)) == 100
    assert not [name for name in harness.files() if ".stage-" in name]
    right = checksum(algorithm, DATA[100:])
    response = await patch(client, url, 100, DATA[100:], **{"Upload-Checksum": right})
    assert response.status_code == 204
    # The whole-file hash stayed right across the discarded chunk.
    assert [i.sha256 for i in harness.hooks.finished] == [hashlib.sha256(DATA).hexdigest()]


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.mark.parametrize(
    "header",
    [
        "sha1",
        "sha1 ",
        "",
        "SHA1 " + _b64(hashlib.sha1(DATA).digest()),  # names are lowercase
        "crc32 " + _b64(b"\0\0\0\0"),
        "sha512 " + _b64(hashlib.sha512(DATA).digest()),
        "sha1 " + _b64(hashlib.sha1(DATA).digest()) + " extra",
        "sha1 %%%%",
        "sha1 " + _b64(b"short"),  # not a sha1 digest at all
        "md5 " + _b64(hashlib.sha256(DATA).digest()),
    ],
)
async def test_bad_checksum_header_is_400_before_reading(
    client: httpx.AsyncClient, harness: Harness, header: str
) -> None:
    url = await create(client, len(DATA))
    response = await patch(client, url, 0, DATA, **{"Upload-Checksum": header})
    assert response.status_code == 400, response.text
    assert await offset_of(client, url) == 0
    assert harness.stored_size(upload_id(url)) == 0
    assert harness.hooks.finished == []
