"""tus 1.0.0: core, creation, creation-with-upload, creation-defer-length, termination, checksum,
expiration and concatenation (with unfinished partials).

Extensions are advertised from the store's abilities. Every check that needs no body runs before
the body is read; a body is read only by :meth:`Uploads.append`.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

from reelhouse.ingest.body import BodyEnd
from reelhouse.ingest.errors import (
    BadRequest,
    Forbidden,
    IngestError,
    MethodNotAllowed,
    OffsetMismatch,
    PreconditionFailed,
    RequestTimeout,
    TooLarge,
    UnsupportedMediaType,
)
from reelhouse.ingest.headers import (
    http_date,
    parse_checksum,
    parse_concat,
    parse_int,
    parse_metadata,
    render_metadata,
    upload_id_from_url,
)
from reelhouse.ingest.info import UploadInfo
from reelhouse.ingest.protocols import CreateRequest, TerminatingStore
from reelhouse.ingest.responses import error_response
from reelhouse.ingest.uploads import Uploads

TUS_VERSION = "1.0.0"
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
LocationFor = Callable[[str | None, str], str]


class TusFrontend:
    """Serves tus on a collection URL (``target`` None) or a direct-upload URL (``target``).

    ``location_for(target, upload_id)`` gives the absolute URL of an upload.
    """

    def __init__(self, uploads: Uploads, location_for: LocationFor) -> None:
        self.uploads = uploads
        self.location_for = location_for
        abilities = uploads.abilities
        extensions = ["creation", "creation-with-upload", "expiration"]
        if abilities.defer_length:
            extensions.append("creation-defer-length")
        if abilities.terminate:
            extensions.append("termination")
        if abilities.checksum_algorithms:
            extensions.append("checksum")
        if abilities.concatenate:
            extensions += ["concatenation", "concatenation-unfinished"]
        self.extensions = ",".join(extensions)

    async def handle(self, request: Request, target: str | None, upload_id: str | None) -> Response:
        method = request.method
        override = request.headers.get("x-http-method-override")
        if method == "POST" and override:
            method = override.strip().upper()
        try:
            if method == "OPTIONS":
                response = await self.options(request, target)
            else:
                self._check_version(request)
                response = await self._route(request, method, target, upload_id)
        except IngestError as error:
            response = error_response(error)
        response.headers["Tus-Resumable"] = TUS_VERSION
        return response

    async def _route(
        self, request: Request, method: str, target: str | None, upload_id: str | None
    ) -> Response:
        if upload_id is None:
            if method == "POST":
                return await self.create(request, target)
        elif method == "HEAD":
            return await self.head(request, target, upload_id)
        elif method == "PATCH":
            return await self.patch(request, target, upload_id)
        elif method == "DELETE" and self.uploads.abilities.terminate:
            return await self.delete(request, target, upload_id)
        return error_response(
            _method_not_allowed(method), {"Allow": "OPTIONS, POST, HEAD, PATCH, DELETE"}
        )

    @staticmethod
    def _check_version(request: Request) -> None:
        if request.headers.get("tus-resumable") != TUS_VERSION:
            raise PreconditionFailed(
                f"This server speaks tus {TUS_VERSION}; send 'Tus-Resumable: {TUS_VERSION}'.",
                headers={"Tus-Version": TUS_VERSION},
            )

    async def options(self, request: Request, target: str | None) -> Response:
        headers = {"Tus-Version": TUS_VERSION, "Tus-Extension": self.extensions}
        max_size = await self.uploads.max_size(request, target)
        if max_size is not None:
            headers["Tus-Max-Size"] = str(max_size)
        if self.uploads.abilities.checksum_algorithms:
            headers["Tus-Checksum-Algorithm"] = ",".join(self.uploads.abilities.checksum_algorithms)
        return Response(status_code=200, headers=headers)

    # -- creation ----------------------------------------------------------------------------
    async def create(self, request: Request, target: str | None) -> Response:
        concat = parse_concat(request.headers.get("upload-concat"))
        if (concat.partial or concat.final) and not self.uploads.abilities.concatenate:
            raise BadRequest("This server does not support concatenation.")
        size = self._creation_length(request, final=concat.final)
        metadata = parse_metadata(request.headers.get("upload-metadata"))
        has_body = _has_body(request)
        body_length = parse_int("Content-Length", request.headers.get("content-length"))
        if size is not None and body_length is not None and body_length > size:
            raise TooLarge("The body is longer than Upload-Length.")
        if concat.final and has_body:
            raise BadRequest("A final concatenated upload cannot carry a body.")
        partials = None
        if concat.final:
            ids = [upload_id_from_url(url) for url in concat.urls]
            partials = await self.uploads.resolve_partials(request, target, ids)
            size = sum(p.size or 0 for p in partials)
        create = CreateRequest(
            request=request,
            target=target,
            size=size,
            metadata=metadata,
            partial=concat.partial,
            final=concat.final,
            partial_ids=tuple(p.id for p in partials or ()),
        )
        info = await self.uploads.create(create)
        headers = {"Location": self.location_for(target, info.id)}
        if has_body:
            async with self.uploads.locked(info.id) as holder:
                appended = await self.uploads.append(request, target, info, holder)
                info = appended.info
            headers["Upload-Offset"] = str(info.offset)
        headers.update(_expiry_headers(info))
        return Response(status_code=201, headers=headers)

    def _creation_length(self, request: Request, *, final: bool) -> int | None:
        length = parse_int("Upload-Length", request.headers.get("upload-length"))
        defer = request.headers.get("upload-defer-length")
        if final:
            if length is not None or defer is not None:
                raise BadRequest("A final concatenated upload must not send its length.")
            return None
        if defer is not None:
            if defer.strip() != "1":
                raise BadRequest("Upload-Defer-Length must be 1.")
            if length is not None:
                raise BadRequest("Send either Upload-Length or Upload-Defer-Length, not both.")
            if not self.uploads.abilities.defer_length:
                raise BadRequest("This server does not support deferred lengths.")
            return None
        if length is None:
            raise BadRequest("Upload-Length (or Upload-Defer-Length: 1) is required.")
        return length

    # -- existing uploads ------------------------------------------------------------------
    async def head(self, request: Request, target: str | None, upload_id: str) -> Response:
        async with self.uploads.locked(upload_id):
            info = await self.uploads.load(request, target, upload_id)
        if info.final and not info.complete:
            info = await self.uploads.concatenate_if_ready(info.id) or info
        headers = {"Cache-Control": "no-store"}
        if not (info.final and not info.complete):
            headers["Upload-Offset"] = str(info.offset)
        if info.size is not None:
            headers["Upload-Length"] = str(info.size)
        else:
            headers["Upload-Defer-Length"] = "1"
        if info.metadata:
            headers["Upload-Metadata"] = render_metadata(info.metadata)
        if info.partial:
            headers["Upload-Concat"] = "partial"
        elif info.final:
            urls = " ".join(self.location_for(target, pid) for pid in info.partial_ids)
            headers["Upload-Concat"] = f"final;{urls}"
        headers.update(_expiry_headers(info))
        return Response(status_code=200, headers=headers)

    async def patch(self, request: Request, target: str | None, upload_id: str) -> Response:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != OFFSET_CONTENT_TYPE:
            raise UnsupportedMediaType(f"PATCH bodies must be sent as {OFFSET_CONTENT_TYPE}.")
        offset = parse_int("Upload-Offset", request.headers.get("upload-offset"))
        if offset is None:
            raise BadRequest("Upload-Offset is required.")
        length = parse_int("Upload-Length", request.headers.get("upload-length"))
        checksum = parse_checksum(
            request.headers.get("upload-checksum"), self.uploads.abilities.checksum_algorithms
        )
        async with self.uploads.locked(upload_id) as holder:
            info = await self.uploads.load(request, target, upload_id)
            if info.final:
                raise Forbidden("A final concatenated upload cannot be patched.")
            if offset != info.offset:
                raise OffsetMismatch(expected=info.offset, provided=offset)
            if length is not None:
                info = await self.uploads.declare_length(request, target, info, length)
            if info.complete and _has_body(request):
                raise TooLarge("This upload is already complete.")
            appended = await self.uploads.append(request, target, info, holder, checksum=checksum)
        info = appended.info
        headers = {"Upload-Offset": str(info.offset), **_expiry_headers(info)}
        if appended.body.end is BodyEnd.TIMEOUT:
            return error_response(_timeout(info.offset), {**headers, "Connection": "close"})
        return Response(status_code=204, headers=headers)

    async def delete(self, request: Request, target: str | None, upload_id: str) -> Response:
        async with self.uploads.locked(upload_id):
            info = await self.uploads.load(request, target, upload_id)
            store = self.uploads.store
            assert isinstance(store, TerminatingStore)
            await store.terminate(info.id)
            await self.uploads.hooks.on_terminate(info)
        return Response(status_code=204)


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    chunked = "chunked" in request.headers.get("transfer-encoding", "").lower()
    typed = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if typed != OFFSET_CONTENT_TYPE:
        return False
    return chunked or (length is not None and length.strip() not in ("", "0"))


def _expiry_headers(info: UploadInfo) -> dict[str, str]:
    if info.expires_at is None or info.complete:
        return {}
    return {"Upload-Expires": http_date(info.expires_at)}


def _method_not_allowed(method: str) -> IngestError:
    return MethodNotAllowed(f"{method[:16]} is not allowed here.")


def _timeout(offset: int) -> IngestError:
    return RequestTimeout(
        f"No data arrived for too long; {offset} bytes are saved. Resume from Upload-Offset."
    )
