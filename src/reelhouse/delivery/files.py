"""Serving stored objects over HTTP: one ``Range``, ``HEAD``, ``ETag`` / ``If-None-Match``.

The object's store ETag becomes the HTTP ETag (strong: it changes whenever the bytes do).
Which body to send is decided here, once, for every backend (see :mod:`.ranges`); how it is
sent derives from the store's abilities, checked once when the server is built:

- a store with :class:`~reelhouse.storage.protocols.WholeReads` (the local one) answers objects
  of at most ``whole_read_bytes`` (HLS segments, playlists, images) from one blocking call that
  opens, stats and reads the file, so a segment costs one worker-thread hop, not a dozen; with
  ``memory_cache_bytes``, the bytes of those objects are kept a second in memory
  (:class:`~reelhouse.delivery.hot.HotObjects`), so the viewers of a popular video cost no
  read at all;
- larger local files (:class:`~reelhouse.storage.protocols.LocalPaths`) go to Starlette's
  ``FileResponse``, which uses the ASGI ``http.response.pathsend`` extension (sendfile) where
  the server offers it, and reads 1 MiB chunks in a worker thread where it does not;
- any other store streams :meth:`~reelhouse.storage.protocols.ObjectStore.open_range` chunks
  (about 1 MiB), so memory stays bounded whatever the object's size, and the stream is closed
  when the client goes away.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from datetime import UTC
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import quote

import anyio
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from reelhouse.delivery.errors import PlaybackNotFound
from reelhouse.delivery.hot import HotObjects
from reelhouse.delivery.ranges import (
    ByteRange,
    Unsatisfiable,
    none_match,
    parse_range,
    quote_etag,
    range_applies,
)
from reelhouse.delivery.responses import CORS
from reelhouse.storage.content_types import guess_content_type
from reelhouse.storage.errors import InvalidRange, ObjectNotFound
from reelhouse.storage.protocols import (
    LocalPaths,
    ObjectInfo,
    ObjectStore,
    Presigning,
    WholeReads,
)

# Objects up to this size are read whole in one blocking call (segments are ~0.5-2 MiB).
WHOLE_READ_BYTES = 8 << 20


class ObjectServer:
    """Answers GET/HEAD for objects of ``store``; build it once per store.

    Two opt-in hand-offs move the bytes off the Python process once access is decided:
    ``accel_prefix`` (local stores behind nginx) answers with ``X-Accel-Redirect:
    {accel_prefix}{key}`` and no body, for an ``internal`` nginx location that serves the data
    directory with sendfile; ``presign_seconds`` (stores that presign, such as S3) answers 307
    to a presigned URL valid that long (the bucket then needs CORS for browsers).
    """

    def __init__(
        self,
        store: ObjectStore,
        *,
        accel_prefix: str | None = None,
        presign_seconds: int = 0,
        whole_read_bytes: int = WHOLE_READ_BYTES,
        memory_cache_bytes: int = 0,
    ) -> None:
        self.store = store
        self.local: LocalPaths | None = store if isinstance(store, LocalPaths) else None
        self.whole: WholeReads | None = (
            store if whole_read_bytes > 0 and isinstance(store, WholeReads) else None
        )
        self.whole_read_bytes = whole_read_bytes
        self.hot = HotObjects(memory_cache_bytes) if memory_cache_bytes > 0 else None
        self._reading: dict[str, asyncio.Future[tuple[ObjectInfo, bytes | None]]] = {}
        self.accel_prefix = accel_prefix if self.local is not None else None
        self.presign: Presigning | None = (
            store if presign_seconds > 0 and isinstance(store, Presigning) else None
        )
        self.presign_seconds = presign_seconds

    async def serve(self, request: Request, key: str, *, cache_control: str) -> Response:
        """200, 206, 304 or 416 for the object at ``key``; a missing one raises
        :class:`PlaybackNotFound`. Every answer carries CORS, cache and validator headers."""
        data: bytes | None = None
        try:
            if self.whole is not None and self.accel_prefix is None and self.presign is None:
                info, data = await self._read_whole(self.whole, key)
            else:
                info = await self.store.stat(key)
        except ObjectNotFound:
            raise PlaybackNotFound() from None
        last_modified = format_datetime(info.modified.astimezone(UTC), usegmt=True)
        headers = {
            **CORS,
            "Cache-Control": cache_control,
            "ETag": quote_etag(info.etag),
            "Last-Modified": last_modified,
            "Accept-Ranges": "bytes",
        }
        if none_match(request.headers.get("if-none-match"), info.etag):
            return Response(status_code=304, headers=headers)
        media_type = guess_content_type(key)
        if self.accel_prefix is not None:
            accel = {**headers, "X-Accel-Redirect": self.accel_prefix + quote(key)}
            return Response(b"", headers=accel, media_type=media_type)
        if self.presign is not None:
            url = await self.presign.presign_get(key, self.presign_seconds)
            moved = {**CORS, "Location": url, "Cache-Control": "private, max-age=60"}
            return Response(status_code=307, headers=moved)
        wanted = None
        if range_applies(request.headers.get("if-range"), info.etag, last_modified):
            wanted = parse_range(request.headers.get("range"), info.size)
        if isinstance(wanted, Unsatisfiable):
            return _unsatisfiable(headers, info.size)
        if data is not None:
            return _in_memory(request, data, wanted, headers, media_type)
        if self.local is not None:
            return _LocalFile(self.local.local_path(key), wanted, headers, media_type)
        return await self._stream(request, info, wanted, headers, media_type)

    async def _read_whole(self, store: WholeReads, key: str) -> tuple[ObjectInfo, bytes | None]:
        """:meth:`WholeReads.read_whole`, answered from the hot objects when they hold it."""
        if self.hot is None:
            return await store.read_whole(key, self.whole_read_bytes)
        hit = self.hot.get(key)
        if hit is not None:
            return hit
        # Concurrent misses for one key (every viewer of a popular video, the moment its
        # entry expires) share one read instead of queueing one each on the thread pool.
        reading = self._reading.get(key)
        if reading is None:
            reading = asyncio.ensure_future(self._read_into_hot(store, key))
            self._reading[key] = reading
            reading.add_done_callback(lambda _: self._reading.pop(key, None))
        return await asyncio.shield(reading)

    async def _read_into_hot(self, store: WholeReads, key: str) -> tuple[ObjectInfo, bytes | None]:
        info, data = await store.read_whole(key, self.whole_read_bytes)
        if data is not None and self.hot is not None:
            self.hot.put(key, info, data)
        return info, data

    async def _stream(
        self,
        request: Request,
        info: ObjectInfo,
        wanted: ByteRange | None,
        headers: dict[str, str],
        media_type: str,
    ) -> Response:
        status = 200 if wanted is None else 206
        if wanted is not None:
            headers["Content-Range"] = wanted.content_range(info.size)
        length = info.size if wanted is None else wanted.length
        headers["Content-Length"] = str(length)
        if request.method == "HEAD" or length == 0:
            return Response(b"", status_code=status, headers=headers, media_type=media_type)
        chunks = self.store.open_range(
            info.key, 0 if wanted is None else wanted.start, None if wanted is None else wanted.end
        )
        # The first chunk is read before the status line is sent, so a missing or shrunken
        # object still gets a proper error instead of a truncated 200.
        try:
            first = await anext(chunks)
        except StopAsyncIteration:
            first = b""
        except ObjectNotFound:
            await _close(chunks)
            raise PlaybackNotFound() from None
        except InvalidRange:
            await _close(chunks)
            return _unsatisfiable(headers, info.size)
        return _ObjectStream(first, chunks, status, headers, media_type)


def _in_memory(
    request: Request,
    data: bytes,
    wanted: ByteRange | None,
    headers: dict[str, str],
    media_type: str,
) -> Response:
    """The whole object, or the range of it, already read: one body message."""
    status = 200
    if wanted is not None:
        headers["Content-Range"] = wanted.content_range(len(data))
        data = data[wanted.start : wanted.end + 1]
        status = 206
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(data))
        return Response(b"", status_code=status, headers=headers, media_type=media_type)
    return Response(data, status_code=status, headers=headers, media_type=media_type)


def _unsatisfiable(headers: Mapping[str, str], size: int) -> Response:
    kept = {k: v for k, v in headers.items() if k != "Content-Length"}
    return Response(status_code=416, headers={**kept, "Content-Range": f"bytes */{size}"})


async def _close(iterator: object) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()


class _LocalFile(FileResponse):
    """``FileResponse`` told which single range to send: the choice was made in
    :meth:`ObjectServer.serve`, so its own ``Range``/``If-Range`` handling sees exactly that.

    Reads 1 MiB at a time (Starlette's 64 KiB means sixteen thread hops per MiB) where the
    server offers no sendfile (``http.response.pathsend``)."""

    chunk_size = 1 << 20

    def __init__(
        self, path: Path, wanted: ByteRange | None, headers: dict[str, str], media_type: str
    ) -> None:
        super().__init__(path, headers=headers, media_type=media_type)
        self._range = None if wanted is None else f"bytes={wanted.start}-{wanted.end}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = [(k, v) for k, v in scope["headers"] if k not in (b"range", b"if-range")]
        if self._range is not None:
            raw.append((b"range", self._range))
        await super().__call__({**scope, "headers": raw}, receive, send)


class _ObjectStream(StreamingResponse):
    """Streams ``first`` then the rest of ``chunks``, closing the store's iterator however the
    response ends (completed, failed, or the client disconnected)."""

    def __init__(
        self,
        first: bytes,
        chunks: AsyncIterator[bytes],
        status: int,
        headers: dict[str, str],
        media_type: str,
    ) -> None:
        self._chunks = chunks

        async def body() -> AsyncIterator[bytes]:
            yield first
            async for chunk in chunks:
                yield chunk

        super().__init__(body(), status_code=status, headers=headers, media_type=media_type)

    async def stream_response(self, send: Send) -> None:
        try:
            await super().stream_response(send)
        finally:
            with anyio.CancelScope(shield=True):
                await _close(self.body_iterator)
                await _close(self._chunks)
