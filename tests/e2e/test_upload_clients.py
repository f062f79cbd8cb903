"""Real clients against a real server: tuspy, an UpChunk-style chunked PUT, curl-style PUT,
locking across requests, closed uploads and environment isolation."""

from __future__ import annotations

import base64
import os
import threading
import time

import httpx
import pytest
from tusclient import client as tus_client

from .database import expire_upload, other_environment_token
from .server import ServerProcess
from .uploads_client import (
    PATCH,
    TUS,
    RawRequest,
    create_direct_upload,
    put_in_chunks,
    sha256,
    stored_bytes,
)

MiB = 1 << 20


def basic(auth: tuple[str, str]) -> str:
    return "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()


def test_tuspy_uploads_through_files_and_sha256_matches(server: ServerProcess, tmp_path) -> None:
    data = os.urandom(3 * MiB + 123)
    source = tmp_path / "clip.bin"
    source.write_bytes(data)
    tus = tus_client.TusClient(
        server.base_url + "/files/", headers={"Authorization": basic(server.auth)}
    )
    uploader = tus.uploader(str(source), chunk_size=MiB, metadata={"filename": "clip.bin"})
    uploader.upload()
    upload_id = uploader.url.rstrip("/").rsplit("/", 1)[-1]
    assert stored_bytes(server.data_dir, upload_id) == data
    with server.client() as api:
        upload = api.get(f"/video/v1/uploads/{upload_id}").json()["data"]
    assert upload["status"] == "asset_created"
    assert upload["asset_id"]
    info = (server.data_dir / "uploads" / f"{upload_id}.info").read_text()
    assert sha256(data) in info


def test_chunked_put_like_upchunk(server: ServerProcess) -> None:
    data = os.urandom(5 * 256 * 1024 + 1000)
    with server.client() as api:
        url = str(create_direct_upload(api)["url"])
    put_in_chunks(url, data, 512 * 1024, content_type="video/mp4")
    with httpx.Client(timeout=30) as browser:
        status = browser.put(url, headers={"Content-Range": f"bytes */{len(data)}"})
        assert status.status_code == 200
    assert stored_bytes(server.data_dir, url.rsplit("/", 1)[-1]) == data


def test_whole_file_put_like_curl(server: ServerProcess) -> None:
    data = os.urandom(2 * MiB)
    with server.client() as api:
        url = str(create_direct_upload(api)["url"])
    response = httpx.put(url, content=data, timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["sha256"] == sha256(data)


def test_head_while_a_patch_is_stalled_returns_the_saved_offset(server: ServerProcess) -> None:
    with server.client() as api:
        url = str(create_direct_upload(api)["url"])
    created = httpx.post(url, headers={**TUS, "Upload-Length": str(4 * MiB)})
    assert created.status_code == 201, created.text
    stalled = RawRequest(url, "PATCH", {**PATCH, "Upload-Offset": "0"}, 4 * MiB)
    stalled.send(os.urandom(MiB))
    time.sleep(0.5)
    started = time.monotonic()
    head = httpx.head(url, headers=TUS, timeout=30)
    waited = time.monotonic() - started
    stalled.close()
    assert head.status_code == 200
    assert head.headers["upload-offset"] == str(MiB)
    assert waited < 2.0  # the hand-over stopped the stalled PATCH instead of waiting it out
    rest = os.urandom(3 * MiB)
    resumed = httpx.patch(
        url, content=rest, headers={**PATCH, "Upload-Offset": str(MiB)}, timeout=30
    )
    assert resumed.status_code == 204, resumed.text
    assert resumed.headers["upload-offset"] == str(4 * MiB)


def test_two_concurrent_patches_one_wins_and_the_offset_stays_consistent(
    server: ServerProcess,
) -> None:
    with server.client() as api:
        url = str(create_direct_upload(api)["url"])
    httpx.post(url, headers={**TUS, "Upload-Length": str(2 * MiB)})
    first = RawRequest(url, "PATCH", {**PATCH, "Upload-Offset": "0"}, 2 * MiB)
    first.send(os.urandom(256 * 1024))
    time.sleep(0.3)
    results: list[int] = []

    def second() -> None:
        response = httpx.patch(
            url, content=os.urandom(64 * 1024), headers={**PATCH, "Upload-Offset": "0"}, timeout=30
        )
        results.append(response.status_code)

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(timeout=30)
    first.close()
    # The second PATCH took the lock over: the first saved 256 KiB, so offset 0 is stale (409).
    assert results == [409]
    head = httpx.head(url, headers=TUS)
    assert head.headers["upload-offset"] == str(256 * 1024)


@pytest.mark.parametrize("how", ["cancelled", "timed_out"])
def test_closed_uploads_refuse_bytes(server: ServerProcess, how: str) -> None:
    with server.client() as api:
        upload = create_direct_upload(api)
        url = str(upload["url"])
        created = httpx.post(url, headers={**TUS, "Upload-Length": "1000"})
        assert created.status_code == 201
        if how == "cancelled":
            assert api.put(f"/video/v1/uploads/{upload['id']}/cancel").status_code == 200
        else:
            expire_upload(server, str(upload["id"]))
    patch = httpx.patch(url, content=b"x" * 1000, headers={**PATCH, "Upload-Offset": "0"})
    assert patch.status_code == 410
    assert "create a new upload" in patch.json()["error"]["messages"][0]
    put = httpx.put(url, content=b"x" * 1000)
    assert put.status_code == 410


def test_another_environment_sees_404(server: ServerProcess) -> None:
    with server.client() as api:
        upload = create_direct_upload(api)
    other = other_environment_token(server, f"env{os.urandom(6).hex()}")
    with httpx.Client(base_url=server.base_url, auth=other) as intruder:
        got = intruder.get(f"/video/v1/uploads/{upload['id']}")
        assert got.status_code == 404
        assert got.json()["error"]["type"] == "not_found"
        assert intruder.put(f"/video/v1/uploads/{upload['id']}/cancel").status_code == 404
        created = intruder.post("/files/", headers={**TUS, "Upload-Length": "10"})
        assert created.status_code == 201
        theirs = created.headers["location"]
    mine = httpx.head(theirs, headers={**TUS, "Authorization": basic(server.auth)})
    assert mine.status_code == 404


def test_front_door_leads_to_sign_in_and_the_api_reference_is_up(server: ServerProcess) -> None:
    home = httpx.get(server.base_url + "/", follow_redirects=False)
    assert home.status_code in (302, 303, 307) and "/signin" in home.headers["location"]
    assert httpx.get(server.base_url + "/docs").status_code == 200
    assert "/video/v1/uploads" in httpx.get(server.base_url + "/openapi.json").text
