"""Chunked PUT, as Google's resumable uploads, @mux/upchunk and mux-uploader speak it.

``Content-Range: bytes a-b/total`` appends a chunk; every chunk but the last is answered 308 with
``Range: bytes=0-N`` (the bytes the server holds), the last with 200. ``bytes */total`` asks for
the offset. A PUT without Content-Range sends the whole file (``curl -T``). A chunk that repeats
bytes already stored is accepted: the stored part is skipped, so retries are idempotent.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

from reelhouse.ingest.errors import BadRequest, Conflict, IngestError, UploadNotFound
from reelhouse.ingest.headers import ContentRange, parse_content_range, parse_int
from reelhouse.ingest.info import UploadInfo
from reelhouse.ingest.protocols import CreateRequest
from reelhouse.ingest.responses import error_response
from reelhouse.ingest.uploads import Uploads


class ChunkedPutFrontend:
    """Serves PUT on a direct-upload URL; the upload's id is the direct upload's id."""

    def __init__(self, uploads: Uploads) -> None:
        self.uploads = uploads

    async def handle(self, request: Request, target: str) -> Response:
        try:
            return await self._put(request, target)
        except IngestError as error:
            return error_response(error)

    async def _put(self, request: Request, target: str) -> Response:
        header = request.headers.get("content-range")
        length = parse_int("Content-Length", request.headers.get("content-length"))
        if header is None and length == 0:
            crange = ContentRange(first=None, last=None, total=0)
        elif header is None:
            last = None if length is None else length - 1
            crange = ContentRange(first=0, last=last, total=length)
        else:
            crange = parse_content_range(header)
        if crange.first is not None and length is not None and length != crange.length:
            raise BadRequest(
                f"Content-Range covers {crange.length} bytes but Content-Length is {length}."
            )
        await self.uploads.check_size(request, target, crange.total)
        async with self.uploads.locked(target) as holder:
            info = await self._load_or_create(request, target, crange)
            if crange.total is not None and info.size is not None and crange.total != info.size:
                raise BadRequest(
                    f"Content-Range total {crange.total} does not match the upload's size "
                    f"{info.size}."
                )
            if header is None and info.offset > 0 and not info.complete:
                raise Conflict(
                    f"This upload already holds {info.offset} bytes; resume with "
                    "'Content-Range: bytes <offset>-<last>/<total>'."
                )
            if crange.first is None or info.complete or crange.first > info.offset:
                return _progress(info)
            if crange.last is not None and crange.last < info.offset:
                return _progress(info)
            if crange.total is not None and info.size is None:
                info = await self.uploads.declare_length(request, target, info, crange.total)
            skip = info.offset - crange.first
            appended = await self.uploads.append(request, target, info, holder, skip=skip)
            info = appended.info
            if info.size is None and crange.total is None and header is None:
                info = await self.uploads.declare_length(request, target, info, info.offset)
                info = await self.uploads.finish(info)
        return _progress(info)

    async def _load_or_create(
        self, request: Request, target: str, crange: ContentRange
    ) -> UploadInfo:
        try:
            return await self.uploads.load(request, target, target)
        except UploadNotFound:
            pass
        filetype = request.headers.get("content-type", "")
        create = CreateRequest(
            request=request,
            target=target,
            size=crange.total,
            metadata={"filetype": filetype[:255]} if filetype else {},
        )
        return await self.uploads.create(create, holding_lock=True)


def _progress(info: UploadInfo) -> Response:
    if info.complete:
        body = {"data": {"id": info.id, "size": info.offset, "sha256": info.sha256}}
        return Response(json.dumps(body), status_code=200, media_type="application/json")
    headers = {"Range": f"bytes=0-{info.offset - 1}"} if info.offset else {}
    return Response(status_code=308, headers=headers)
