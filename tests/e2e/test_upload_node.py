"""The lean upload node (``reelhouse serve --uploads-only``) beside a web node: real clients
upload through the node, the web node's worker makes the assets, locks and bytes are shared.

The web node hands out upload URLs on its own host; a load balancer would send ``/upload/`` and
``/files/`` of that host to the node, so the tests send those paths to the node's port.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from tusclient import client as tus_client

from .conftest import _database_for
from .database import other_environment_token
from .server import ServerProcess
from .test_upload_clients import basic
from .uploads_client import (
    PATCH,
    TUS,
    RawRequest,
    create_direct_upload,
    put_in_chunks,
    stored_bytes,
)

MiB = 1 << 20


@dataclass
class Pair:
    web: ServerProcess
    node: ServerProcess

    def on_node(self, url: str) -> str:
        """``url`` (handed out by the web node) as the load balancer routes it: to the node."""
        return url.replace(self.web.base_url, self.node.base_url, 1)

    def wait_for_asset(self, upload_id: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self.web.client() as api:
            while True:
                upload: dict[str, Any] = api.get(f"/video/v1/uploads/{upload_id}").json()["data"]
                if upload["status"] != "waiting" or time.monotonic() > deadline:
                    return upload
                time.sleep(0.2)


@pytest.fixture(scope="module", params=["embedded", "external"])
def pair(request: pytest.FixtureRequest) -> Iterator[Pair]:
    """A web node with its worker and an upload node on the same database and data dir (the
    node adopts the web node's embedded PostgreSQL, or both use the machine's)."""
    root = Path(tempfile.mkdtemp(prefix="reelhouse-e2e-node-"))
    databases = _database_for(request.param)
    url = next(databases)
    web = ServerProcess(root, database_url=url).start()
    node = ServerProcess(root, database_url=url, args=["--uploads-only"])
    try:
        node.start()
        yield Pair(web, node)
    finally:
        node.stop()
        web.stop()
        databases.close()
        shutil.rmtree(root, ignore_errors=True)


def test_tuspy_through_the_node_and_the_worker_makes_the_asset(pair: Pair, tmp_path: Path) -> None:
    data = os.urandom(3 * MiB + 7)
    source = tmp_path / "clip.bin"
    source.write_bytes(data)
    tus = tus_client.TusClient(
        pair.node.base_url + "/files/", headers={"Authorization": basic(pair.web.auth)}
    )
    uploader = tus.uploader(str(source), chunk_size=MiB, metadata={"filename": "clip.bin"})
    uploader.upload()
    upload_id = uploader.url.rstrip("/").rsplit("/", 1)[-1]
    assert uploader.url.startswith(pair.node.base_url + "/files/")
    assert stored_bytes(pair.node.data_dir, upload_id) == data
    upload = pair.wait_for_asset(upload_id)
    assert upload["status"] == "asset_created" and upload["asset_id"], upload
    with pair.web.client() as api:
        asset = api.get(f"/video/v1/assets/{upload['asset_id']}").json()["data"]
    assert asset["upload_id"] == upload_id


def test_chunked_put_like_upchunk_through_the_node(pair: Pair) -> None:
    data = os.urandom(3 * 256 * 1024 + 99)
    with pair.web.client() as api:
        upload = create_direct_upload(api)
    url = pair.on_node(str(upload["url"]))
    put_in_chunks(url, data, 256 * 1024)
    assert pair.wait_for_asset(str(upload["id"]))["status"] == "asset_created"


def test_cancelled_on_the_web_node_refused_on_the_upload_node(pair: Pair) -> None:
    with pair.web.client() as api:
        upload = create_direct_upload(api)
        url = pair.on_node(str(upload["url"]))
        assert httpx.post(url, headers={**TUS, "Upload-Length": "1000"}).status_code == 201
        assert api.put(f"/video/v1/uploads/{upload['id']}/cancel").status_code == 200
    patch = httpx.patch(url, content=b"x" * 1000, headers={**PATCH, "Upload-Offset": "0"})
    assert patch.status_code == 410
    assert "create a new upload" in patch.json()["error"]["messages"][0]


def test_tokens_and_environments_on_the_node(pair: Pair) -> None:
    files = pair.node.base_url + "/files/"
    anonymous = httpx.post(files, headers={**TUS, "Upload-Length": "10"})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["type"] == "unauthorized"
    other = other_environment_token(pair.web, f"env{os.urandom(6).hex()}")
    theirs = httpx.post(files, headers={**TUS, "Upload-Length": "10"}, auth=other)
    assert theirs.status_code == 201
    location = theirs.headers["location"]
    mine = httpx.head(location, headers={**TUS, "Authorization": basic(pair.web.auth)})
    assert mine.status_code == 404
    deleted = httpx.delete(location, headers=TUS, auth=other)
    assert deleted.status_code == 204
    upload_id = location.rsplit("/", 1)[-1]
    with httpx.Client(base_url=pair.web.base_url, auth=other) as api:
        assert api.get(f"/video/v1/uploads/{upload_id}").json()["data"]["status"] == "cancelled"


def test_a_stalled_patch_on_the_node_hands_over_to_the_web_node(pair: Pair) -> None:
    with pair.web.client() as api:
        url = str(create_direct_upload(api)["url"])
    node_url = pair.on_node(url)
    assert httpx.post(node_url, headers={**TUS, "Upload-Length": str(2 * MiB)}).status_code == 201
    stalled = RawRequest(node_url, "PATCH", {**PATCH, "Upload-Offset": "0"}, 2 * MiB)
    stalled.send(os.urandom(MiB))
    time.sleep(0.5)
    started = time.monotonic()
    head = httpx.head(url, headers=TUS, timeout=30)  # the web node, another process
    waited = time.monotonic() - started
    stalled.close()
    assert head.status_code == 200
    assert head.headers["upload-offset"] == str(MiB)
    assert waited < 2.0  # the node was asked (NOTIFY) and let go; no lock time-out
    rest = httpx.patch(url, content=os.urandom(MiB), headers={**PATCH, "Upload-Offset": str(MiB)})
    assert rest.status_code == 204, rest.text


def test_the_node_answers_only_for_uploads_and_reports_its_own_metrics(pair: Pair) -> None:
    api = httpx.get(pair.node.base_url + "/video/v1/uploads", auth=pair.web.auth)
    assert api.status_code == 404
    assert "upload node" in api.json()["error"]["messages"][0]
    ready = httpx.get(pair.node.base_url + "/readyz").json()
    assert ready == {"status": "ready", "checks": {"database": "ok", "storage": "ok"}}
    metrics = httpx.get(pair.node.base_url + "/metrics").text
    assert 'reelhouse_uploads_created_total{via="files"}' in metrics
    assert "reelhouse_upload_bytes_received_total" in metrics
