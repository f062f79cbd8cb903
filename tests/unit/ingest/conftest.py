"""The ingest harness: a Starlette app over FileStore + MemoryLocker + RecordingHooks.

``client`` talks to it through httpx's ASGI transport, which buffers whole bodies. Tests that need
a client that stalls or vanishes mid-body drive the ASGI app by hand with :class:`AsgiRequest`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from reelhouse.ingest.body import BufferShares
from reelhouse.ingest.chunked import ChunkedPutFrontend
from reelhouse.ingest.filestore import FileStore
from reelhouse.ingest.locks import MemoryLocker
from reelhouse.ingest.routes import UploadRoutes
from reelhouse.ingest.tus import TusFrontend
from reelhouse.ingest.uploads import IngestConfig, Uploads

from .hooks import RecordingHooks

BASE = "http://testserver"
TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = "application/offset+octet-stream"
PATCH = {**TUS, "Content-Type": OCTETS}
MAX_SIZE = 10 << 20
HANDOVER_SECONDS = 0.5


class Harness:
    def __init__(
        self,
        root: Path,
        *,
        read_timeout: float = 2.0,
        buffer_size: int = 1 << 20,
        handover_seconds: float = HANDOVER_SECONDS,
        executor: ThreadPoolExecutor | None = None,
        hooks: RecordingHooks | None = None,
    ) -> None:
        self.root = root
        self.store = FileStore(root, fsync=False, executor=executor)
        self.hooks = hooks or RecordingHooks(max_size=MAX_SIZE)
        self.locker = MemoryLocker(handover_seconds=handover_seconds)
        self.now: datetime | None = None  # a test sets it to move the clock
        config = IngestConfig(
            read_timeout=read_timeout, buffers=BufferShares(buffer_size), clock=self._clock
        )
        self.uploads = Uploads(self.store, self.locker, self.hooks, config)

        def location(target: str | None, upload_id: str) -> str:
            if target is None:
                return f"{BASE}/files/{upload_id}"
            if upload_id == target:
                return f"{BASE}/upload/{target}"
            return f"{BASE}/upload/{target}/{upload_id}"

        tus = TusFrontend(self.uploads, location)
        routes = UploadRoutes(self.uploads, tus, chunked=ChunkedPutFrontend(self.uploads))
        self.app = Starlette(
            routes=routes.collection("/files/") + routes.direct("/upload/{target}")
        )

    def _clock(self) -> datetime:
        return self.now or datetime.now(UTC)

    def stored_size(self, upload_id: str) -> int:
        """Bytes in the upload's data file (0 when there is none), whatever the offset says."""
        path = self.root / upload_id
        return path.stat().st_size if path.exists() else 0

    def stored_bytes(self, upload_id: str) -> bytes:
        return (self.root / upload_id).read_bytes()

    def files(self) -> set[str]:
        return {path.name for path in self.root.iterdir()} if self.root.exists() else set()


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ingest-test")
    yield pool
    pool.shutdown(wait=True)


@pytest.fixture
def harness(tmp_path: Path, executor: ThreadPoolExecutor) -> Harness:
    return Harness(tmp_path / "uploads", executor=executor)


@pytest.fixture
async def client(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(harness) as http:
        yield http


def client_for(harness: Harness) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=harness.app), base_url=BASE)


# -- tus shorthands ----------------------------------------------------------------------------
def upload_id(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def checksum(algorithm: str, data: bytes) -> str:
    return f"{algorithm} {base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


async def create(client: httpx.AsyncClient, length: int | None, **headers: str) -> str:
    """POST a tus creation request; the new upload's URL."""
    sent = {**TUS, **headers}
    if length is not None:
        sent["Upload-Length"] = str(length)
    response = await client.post("/files/", headers=sent)
    assert response.status_code == 201, response.text
    return response.headers["location"]


async def patch(
    client: httpx.AsyncClient, url: str, offset: int, data: bytes, **headers: str
) -> httpx.Response:
    return await client.patch(
        url, content=data, headers={**PATCH, "Upload-Offset": str(offset), **headers}
    )


async def offset_of(client: httpx.AsyncClient, url: str) -> int:
    response = await client.head(url, headers=TUS)
    assert response.status_code == 200, response.text
    return int(response.headers["upload-offset"])


# -- hand-driven ASGI requests -----------------------------------------------------------------
class AsgiRequest:
    """One request whose body the test controls: ``chunks`` arrive, then the client stalls.

    ``drained`` is set once every chunk has been handed to the app and the next ``receive``
    blocks. ``resume(rest)`` sends ``rest`` as the end of the body; ``disconnect()`` makes the
    client vanish. Run it with ``start()``; ``status``/``headers`` hold the response.
    """

    def __init__(
        self,
        app: Any,
        method: str,
        path: str,
        headers: dict[str, str],
        chunks: list[bytes],
    ) -> None:
        self.app = app
        self.scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "server": ("testserver", 80),
            "client": ("127.0.0.1", 50000),
        }
        self._chunks = list(chunks)
        self._tail: list[dict[str, Any]] = []
        self._more = asyncio.Event()
        self.drained = asyncio.Event()
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.body = b""
        self.task: asyncio.Task[None] | None = None

    async def receive(self) -> dict[str, Any]:
        if self._chunks:
            return {"type": "http.request", "body": self._chunks.pop(0), "more_body": True}
        while not self._tail:
            self.drained.set()
            self._more.clear()
            await self._more.wait()
        return self._tail.pop(0)

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")

    def start(self) -> asyncio.Task[None]:
        self.task = asyncio.create_task(self.app(self.scope, self.receive, self.send))
        return self.task

    def resume(self, rest: bytes) -> None:
        self._tail.append({"type": "http.request", "body": rest, "more_body": False})
        self._more.set()

    def disconnect(self) -> None:
        self._tail.append({"type": "http.disconnect"})
        self._more.set()

    async def finished(self, timeout: float = 5.0) -> int:
        assert self.task is not None
        await asyncio.wait_for(self.task, timeout)
        assert self.status is not None
        return self.status


def stalled_patch(
    harness: Harness, url: str, offset: int, chunks: list[bytes], total: int | None = None
) -> AsgiRequest:
    """A PATCH that sends ``chunks`` and stalls; ``total`` is its Content-Length (default: sum)."""
    length = sum(len(c) for c in chunks) if total is None else total
    headers = {
        **PATCH,
        "Upload-Offset": str(offset),
        "Content-Length": str(length),
        "Host": "testserver",
    }
    return AsgiRequest(harness.app, "PATCH", url.removeprefix(BASE), headers, chunks)
