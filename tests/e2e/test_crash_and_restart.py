"""Crashes and restarts: a ``kill -9`` mid-upload loses nothing acknowledged, and the embedded
database initialises a fresh data directory and keeps its rows across restarts."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import httpx
import pytest

from .server import ServerProcess
from .uploads_client import PATCH, TUS, RawRequest, create_direct_upload

MiB = 1 << 20


@pytest.mark.slow
def test_kill9_mid_upload_then_resume_from_head(
    fresh_server: ServerProcess, tmp_path: Path
) -> None:
    size = 200 * MiB
    source = tmp_path / "big.bin"
    with source.open("wb") as out:
        for _ in range(size // MiB):
            out.write(os.urandom(MiB))
    fresh_server.start()
    with fresh_server.client() as api:
        url = str(create_direct_upload(api)["url"])
    assert httpx.post(url, headers={**TUS, "Upload-Length": str(size)}).status_code == 201

    request = RawRequest(url, "PATCH", {**PATCH, "Upload-Offset": "0"}, size)
    sent = 0
    with source.open("rb") as data:
        while sent < 80 * MiB:
            request.send(data.read(MiB))
            sent += MiB
    time.sleep(0.5)
    fresh_server.kill9()
    request.close()

    fresh_server.start()
    head = httpx.head(url, headers=TUS, timeout=30)
    assert head.status_code == 200
    offset = int(head.headers["upload-offset"])
    assert 0 < offset <= sent
    on_disk = (fresh_server.data_dir / "uploads" / url.rsplit("/", 1)[-1]).stat().st_size
    assert offset == on_disk

    with source.open("rb") as data:
        data.seek(offset)
        rest = data.read()
    resumed = httpx.patch(
        url, content=rest, headers={**PATCH, "Upload-Offset": str(offset)}, timeout=120
    )
    assert resumed.status_code == 204, resumed.text
    assert resumed.headers["upload-offset"] == str(size)
    stored = fresh_server.data_dir / "uploads" / url.rsplit("/", 1)[-1]
    expected = hashlib.sha256(source.read_bytes()).hexdigest()
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == expected
    assert expected in (stored.parent / (stored.name + ".info")).read_text()


def test_embedded_database_initialises_and_survives_a_restart(fresh_server: ServerProcess) -> None:
    assert not (fresh_server.data_dir / "pg").exists()
    fresh_server.start()
    assert (fresh_server.data_dir / "pg" / "PG_VERSION").exists()
    with fresh_server.client() as api:
        upload = create_direct_upload(api, timeout=7200)
    fresh_server.stop()
    assert not (fresh_server.data_dir / "pg" / "postmaster.pid").exists()
    fresh_server.start()
    with fresh_server.client() as api:
        again = api.get(f"/video/v1/uploads/{upload['id']}")
    assert again.status_code == 200
    assert again.json()["data"]["timeout"] == 7200
