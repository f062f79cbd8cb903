"""The resumable-upload draft front-end (draft-ietf-httpbis-resumable-upload)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from reelhouse.ingest.chunked import ChunkedPutFrontend
from reelhouse.ingest.draft import DraftFrontend, content_disposition_filename
from reelhouse.ingest.routes import UploadRoutes
from reelhouse.ingest.tus import TusFrontend

from .conftest import BASE, Harness

V8 = {"Upload-Draft-Interop-Version": "8"}
PARTIAL = {**V8, "Content-Type": "application/partial-upload"}
PROBLEMS = "https://iana.org/assignments/http-problem-types#"


class DraftHarness(Harness):
    """The shared harness with the draft mounted next to tus and chunked PUT."""

    def __init__(self, root: Path, *, base: str = BASE, max_size: int = 10 << 20) -> None:
        super().__init__(root)
        self.hooks.limit = max_size
        self.base = base

        def location(target: str | None, upload_id: str) -> str:
            if target is None:
                return f"{self.base}/files/{upload_id}"
            if upload_id == target:
                return f"{self.base}/upload/{target}"
            return f"{self.base}/upload/{target}/{upload_id}"

        self.draft = DraftFrontend(self.uploads, location)
        routes = UploadRoutes(
            self.uploads,
            TusFrontend(self.uploads, location),
            chunked=ChunkedPutFrontend(self.uploads),
            draft=self.draft.handle,
        )
        self.app = Starlette(
            routes=routes.collection("/files/") + routes.direct("/upload/{target}")
        )


@pytest.fixture
def draft(tmp_path: Path) -> DraftHarness:
    return DraftHarness(tmp_path / "uploads")


@pytest.fixture
async def http(draft: DraftHarness) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=draft.app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


def payload(size: int) -> bytes:
    return bytes(range(256)) * (size // 256) + bytes(size % 256)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- creation ------------------------------------------------------------------------------------
async def test_create_complete_in_one_request(http, draft):
    data = payload(300_000)
    headers = {
        **V8,
        "Upload-Complete": "?1",
        "Content-Type": "video/mp4",
        "Content-Disposition": 'inline; filename="../../etc/clip one.mp4"',
    }
    r = await http.post("/files/", content=data, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["upload-complete"] == "?1"
    assert r.headers["location"].startswith(f"{BASE}/files/")
    assert r.json()["data"]["sha256"] == sha(data)
    [finished] = draft.hooks.finished
    assert finished.sha256 == sha(data)
    assert finished.size == len(data)
    assert finished.metadata == {"filename": "clip one.mp4", "filetype": "video/mp4"}

    r = await http.head(r.headers["location"], headers=V8)
    assert r.status_code == 204
    assert r.headers["upload-complete"] == "?1"
    assert r.headers["upload-offset"] == r.headers["upload-length"] == str(len(data))
    assert r.headers["cache-control"] == "no-store"


async def test_create_incomplete_then_head_then_complete(http, draft):
    data = payload(200_000)
    r = await http.post(
        "/files/",
        content=data[:70_000],
        headers={**V8, "Upload-Complete": "?0", "Content-Type": "video/quicktime"},
    )
    assert r.status_code == 201, r.text
    assert r.headers["upload-complete"] == "?0"
    assert r.headers["upload-offset"] == "70000"
    assert r.headers["upload-limit"] == f"min-size=0, max-size={10 << 20}"
    url = r.headers["location"]

    r = await http.head(url, headers=V8)
    assert r.status_code == 204
    assert r.headers["upload-offset"] == "70000"
    assert r.headers["upload-complete"] == "?0"
    assert "upload-length" not in r.headers
    assert "min-size=0" in r.headers["upload-limit"]

    r = await http.patch(
        url,
        content=data[70_000:150_000],
        headers={**PARTIAL, "Upload-Offset": "70000", "Upload-Complete": "?0"},
    )
    assert r.status_code == 204, r.text
    assert r.headers["upload-complete"] == "?0"
    assert r.headers["upload-offset"] == "150000"
    assert draft.hooks.finished == []

    r = await http.patch(
        url,
        content=data[150_000:],
        headers={**PARTIAL, "Upload-Offset": "150000", "Upload-Complete": "?1"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["upload-complete"] == "?1"
    assert r.json()["data"] == {"id": url.rsplit("/", 1)[1], "size": len(data), "sha256": sha(data)}
    assert len(draft.hooks.finished) == 1
    assert draft.hooks.finished[0].sha256 == sha(data)
    assert draft.hooks.finished[0].metadata == {"filetype": "video/quicktime"}

    r = await http.head(url, headers=V8)
    assert r.headers["upload-complete"] == "?1"
    assert r.headers["upload-length"] == str(len(data))


async def test_empty_creation_then_streamed_append_with_unknown_length(http, draft):
    data = payload(123_457)
    r = await http.post("/files/", headers={**V8, "Upload-Complete": "?0"})
    assert r.status_code == 201
    url = r.headers["location"]

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 10_000):
            yield data[start : start + 10_000]

    r = await http.patch(
        url, content=chunks(), headers={**PARTIAL, "Upload-Offset": "0", "Upload-Complete": "?1"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["data"]["sha256"] == sha(data)
    [finished] = draft.hooks.finished
    assert finished.size == len(data)
    assert finished.sha256 == sha(data)


async def test_empty_patch_completes_an_upload_whose_bytes_are_there(http, draft):
    data = payload(5000)
    r = await http.post("/files/", content=data, headers={**V8, "Upload-Complete": "?0"})
    url = r.headers["location"]
    r = await http.patch(url, headers={**PARTIAL, "Upload-Offset": "5000", "Upload-Complete": "?1"})
    assert r.status_code == 200, r.text
    assert r.headers["upload-complete"] == "?1"
    [finished] = draft.hooks.finished
    assert finished.sha256 == sha(data)
    # A repeated completion (a lost response) answers the same and does not finish again.
    r = await http.patch(url, headers={**PARTIAL, "Upload-Offset": "5000", "Upload-Complete": "?1"})
    assert r.status_code == 200
    assert len(draft.hooks.finished) == 1
    r = await http.patch(url, headers={**PARTIAL, "Upload-Offset": "5000", "Upload-Complete": "?0"})
    assert r.status_code == 400
    assert r.json()["type"] == PROBLEMS + "completed-upload"


async def test_creation_with_upload_length_finishes_exactly_once(http, draft):
    data = payload(4096)
    headers = {**V8, "Upload-Complete": "?0", "Upload-Length": "4096"}
    r = await http.post("/files/", content=data[:1000], headers=headers)
    url = r.headers["location"]
    r = await http.head(url, headers=V8)
    assert r.headers["upload-length"] == "4096"
    r = await http.patch(
        url,
        content=data[1000:],
        headers={**PARTIAL, "Upload-Offset": "1000", "Upload-Complete": "?1"},
    )
    assert r.status_code == 200, r.text
    assert [info.sha256 for info in draft.hooks.finished] == [sha(data)]


async def test_direct_upload_url(http, draft):
    data = payload(9000)
    r = await http.post("/upload/abc123", content=data, headers={**V8, "Upload-Complete": "?1"})
    assert r.status_code == 200, r.text
    assert r.headers["location"] == f"{BASE}/upload/abc123"
    assert draft.hooks.finished[0].id == "abc123"


# -- errors --------------------------------------------------------------------------------------
async def test_offset_mismatch_is_a_409_problem(http, draft):
    r = await http.post("/files/", content=b"x" * 100, headers={**V8, "Upload-Complete": "?0"})
    url = r.headers["location"]
    r = await http.patch(
        url, content=b"y" * 10, headers={**PARTIAL, "Upload-Offset": "40", "Upload-Complete": "?0"}
    )
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["upload-offset"] == "100"
    assert r.headers["upload-complete"] == "?0"
    body = r.json()
    assert body["type"] == PROBLEMS + "mismatching-upload-offset"
    assert body["title"]
    assert body["expected-offset"] == 100
    assert body["provided-offset"] == 40


@pytest.mark.parametrize(
    ("create", "patch"),
    [
        ({"Upload-Length": "100"}, {"Upload-Offset": "0", "Upload-Complete": "?1"}),
        ({"Upload-Length": "100"}, {"Upload-Offset": "0", "Upload-Length": "90"}),
        ({}, {"Upload-Offset": "0", "Upload-Complete": "?1", "Upload-Length": "80"}),
        ({"Upload-Length": "20"}, {"Upload-Offset": "0", "Upload-Complete": "?0"}),
    ],
)
async def test_inconsistent_length_is_a_400_problem(http, draft, create, patch):
    r = await http.post("/files/", headers={**V8, "Upload-Complete": "?0", **create})
    assert r.status_code == 201, r.text
    headers = {**PARTIAL, "Upload-Complete": "?0", **patch}
    r = await http.patch(r.headers["location"], content=b"z" * 50, headers=headers)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == PROBLEMS + "inconsistent-upload-length"
    assert draft.hooks.finished == []


async def test_inconsistent_length_on_creation(http):
    headers = {**V8, "Upload-Complete": "?1", "Upload-Length": "99"}
    r = await http.post("/files/", content=b"a" * 50, headers=headers)
    assert r.status_code == 400
    assert r.json()["type"] == PROBLEMS + "inconsistent-upload-length"


async def test_appending_to_a_complete_upload_is_refused(http, draft):
    r = await http.post("/files/", content=b"a" * 50, headers={**V8, "Upload-Complete": "?1"})
    url = r.headers["location"]
    r = await http.patch(
        url, content=b"b" * 5, headers={**PARTIAL, "Upload-Offset": "50", "Upload-Complete": "?1"}
    )
    assert r.status_code == 400
    assert r.json()["type"] == PROBLEMS + "inconsistent-upload-length"
    r = await http.head(url, headers=V8)
    assert r.headers["upload-offset"] == "50"


async def test_patch_needs_partial_upload_media_type_and_headers(http):
    r = await http.post("/files/", headers={**V8, "Upload-Complete": "?0"})
    url = r.headers["location"]
    octet = {**V8, "Content-Type": "application/octet-stream"}
    r = await http.patch(
        url, content=b"a", headers={**octet, "Upload-Offset": "0", "Upload-Complete": "?0"}
    )
    assert r.status_code == 415
    assert r.headers["accept-patch"] == "application/partial-upload"
    r = await http.patch(url, content=b"a", headers={**PARTIAL, "Upload-Complete": "?0"})
    assert r.status_code == 400  # no Upload-Offset
    r = await http.patch(url, content=b"a", headers={**PARTIAL, "Upload-Offset": "0"})
    assert r.status_code == 400  # no Upload-Complete
    # An invalid Structured Field is ignored, so it counts as missing.
    r = await http.patch(
        url, content=b"a", headers={**PARTIAL, "Upload-Offset": "0", "Upload-Complete": "true"}
    )
    assert r.status_code == 400


async def test_too_large_is_413_with_upload_limit(tmp_path):
    draft = DraftHarness(tmp_path / "u", max_size=1000)
    transport = httpx.ASGITransport(app=draft.app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        r = await http.post("/files/", content=b"a" * 1001, headers={**V8, "Upload-Complete": "?1"})
        assert r.status_code == 413
        assert r.headers["upload-limit"] == "min-size=0, max-size=1000"
        r = await http.post(
            "/files/", headers={**V8, "Upload-Complete": "?0", "Upload-Length": "5000"}
        )
        assert r.status_code == 413
        # Unknown length: the limit is enforced while streaming.
        r = await http.post("/files/", content=b"a" * 600, headers={**V8, "Upload-Complete": "?0"})
        url = r.headers["location"]

        async def body() -> AsyncIterator[bytes]:
            yield b"b" * 300
            yield b"c" * 300

        headers = {**PARTIAL, "Upload-Offset": "600", "Upload-Complete": "?0"}
        r = await http.patch(url, content=body(), headers=headers)
        assert r.status_code == 413
        assert "max-size=1000" in r.headers["upload-limit"]
    assert draft.hooks.finished == []


async def test_unknown_interop_version_is_refused(http):
    r = await http.post(
        "/files/", headers={"Upload-Draft-Interop-Version": "99", "Upload-Complete": "?1"}
    )
    assert r.status_code == 400
    assert "8" in r.json()["error"]["messages"][0]


# -- cancel, options, versions -------------------------------------------------------------------
async def test_delete_cancels(http, draft):
    r = await http.post("/files/", content=b"a" * 10, headers={**V8, "Upload-Complete": "?0"})
    url = r.headers["location"]
    r = await http.delete(url, headers=V8)
    assert r.status_code == 204
    assert draft.hooks.terminated == [url.rsplit("/", 1)[1]]
    r = await http.head(url, headers=V8)
    assert r.status_code == 404


async def test_options_announces_limits(http):
    r = await http.options("/files/", headers=V8)
    assert r.status_code == 204
    assert r.headers["upload-limit"] == f"min-size=0, max-size={10 << 20}"
    assert r.headers["accept-patch"] == "application/partial-upload"


async def test_upload_limit_carries_max_age(tmp_path):
    from datetime import UTC, datetime, timedelta

    draft = DraftHarness(tmp_path / "u")
    draft.hooks.expires_at = datetime.now(UTC) + timedelta(hours=1)
    transport = httpx.ASGITransport(app=draft.app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        r = await http.post("/files/", headers={**V8, "Upload-Complete": "?0"})
        limit = dict(item.split("=") for item in r.headers["upload-limit"].split(", "))
        assert 3590 <= int(limit["max-age"]) <= 3600


async def test_interop_7_and_legacy_interop_3(http, draft):
    data = payload(3000)
    r = await http.post(
        "/files/",
        content=data[:1000],
        headers={"Upload-Draft-Interop-Version": "7", "Upload-Complete": "?0"},
    )
    assert r.status_code == 201
    # Interop 3 (draft -01): the inverted Upload-Incomplete, and any PATCH media type.
    v3 = {"Upload-Draft-Interop-Version": "3"}
    url = r.headers["location"]
    r = await http.head(url, headers=v3)
    assert r.headers["upload-incomplete"] == "?1"
    assert "upload-complete" not in r.headers
    r = await http.patch(
        url,
        content=data[1000:],
        headers={**v3, "Upload-Offset": "1000", "Upload-Incomplete": "?0"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["upload-incomplete"] == "?0"
    assert draft.hooks.finished[0].sha256 == sha(data)


async def test_tus_requests_still_reach_tus(http):
    r = await http.post("/files/", headers={"Tus-Resumable": "1.0.0", "Upload-Length": "10"})
    assert r.status_code == 201
    assert r.headers["tus-resumable"] == "1.0.0"


def test_content_disposition_filename():
    assert content_disposition_filename('inline; filename="a b.mp4"') == "a b.mp4"
    header = "inline; filename=\"fallback.mp4\"; filename*=UTF-8''d%C3%A9j%C3%A0%20vu.mp4"
    assert content_disposition_filename(header) == "déjà vu.mp4"
    assert content_disposition_filename('attachment; filename=".."') is None
    assert content_disposition_filename("inline") is None


# -- concurrency ---------------------------------------------------------------------------------
async def test_new_request_ends_a_stalled_append(http, draft):
    r = await http.post("/files/", headers={**V8, "Upload-Complete": "?0"})
    url = r.headers["location"]
    stalled = asyncio.Event()
    never = asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        yield b"a" * 4000
        stalled.set()
        await never.wait()
        yield b"never"

    headers = {**PARTIAL, "Upload-Offset": "0", "Upload-Complete": "?1"}
    first = asyncio.create_task(http.patch(url, content=body(), headers=headers))
    await asyncio.wait_for(stalled.wait(), 5)
    await asyncio.sleep(0.05)
    r = await asyncio.wait_for(http.head(url, headers=V8), 5)
    assert r.status_code == 204
    assert r.headers["upload-offset"] == "4000"
    assert r.headers["upload-complete"] == "?0"
    r = await asyncio.wait_for(first, 5)  # the older request was ended, its bytes kept
    assert r.status_code == 204
    assert r.headers["upload-complete"] == "?0"
    assert r.headers["upload-offset"] == "4000"
    never.set()
    assert draft.hooks.finished == []


# -- a stock HTTP client over a real socket ------------------------------------------------------
@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[DraftHarness, str, int]]:
    harness = DraftHarness(tmp_path / "live")
    config = uvicorn.Config(
        harness.app, host="127.0.0.1", port=0, lifespan="off", log_level="error"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    harness.base = f"http://127.0.0.1:{port}"
    try:
        yield harness, "127.0.0.1", port
    finally:
        server.should_exit = True
        thread.join(10)


def test_stock_http_client_over_a_real_socket(live):
    harness, host, port = live
    data = payload(2_000_000)
    conn = HTTPConnection(host, port, timeout=10)

    conn.request(
        "POST",
        "/files/",
        body=data[:700_000],
        headers={**V8, "Upload-Complete": "?0", "Content-Type": "video/mp4"},
    )
    r = conn.getresponse()
    r.read()
    assert r.status == 201
    location = r.headers["Location"]
    assert location.startswith(f"http://{host}:{port}/files/")
    path = urlsplit(location).path

    conn.request("HEAD", path, headers=V8)
    r = conn.getresponse()
    r.read()
    assert r.status == 204
    offset = int(r.headers["Upload-Offset"])
    assert offset == 700_000

    def chunks() -> Iterator[bytes]:
        for start in range(offset, len(data), 65_536):
            yield data[start : start + 65_536]

    conn.request(
        "PATCH",
        path,
        body=chunks(),
        headers={**PARTIAL, "Upload-Offset": str(offset), "Upload-Complete": "?1"},
        encode_chunked=True,
    )
    r = conn.getresponse()
    body = json.loads(r.read())
    assert r.status == 200
    assert r.headers["Upload-Complete"] == "?1"
    assert body["data"]["sha256"] == sha(data)
    conn.close()
    assert [info.sha256 for info in harness.hooks.finished] == [sha(data)]
