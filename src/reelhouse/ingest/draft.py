"""IETF "Resumable Uploads for HTTP" (draft-ietf-httpbis-resumable-upload), a front-end of the
ingest library next to tus 1.0 and chunked PUT.

Implemented: upload creation (``POST`` with ``Upload-Complete``), offset retrieval (``HEAD`` or
``GET``), append (``PATCH`` with ``application/partial-upload``), cancellation (``DELETE``),
``OPTIONS`` with ``Accept-Patch`` and ``Upload-Limit``, and the problem types
``mismatching-upload-offset``, ``inconsistent-upload-length`` and ``completed-upload``. Interop
version 8 (drafts -09 to -12) is the reference; 3 to 7 are accepted too, with the differences of
their drafts (see :class:`Dialect`). No ``104 (Upload Resumption Supported)`` is sent: ASGI has no
way to send an arbitrary informational response (docs/resumable-upload-draft.md).

Every header the draft defines is an RFC 9651 Structured Field; an invalid value makes the whole
field ignored, as the draft says. Errors the draft names are answered as
``application/problem+json``; the others as the ingest library's usual JSON errors.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response

from reelhouse.ingest.body import BodyEnd
from reelhouse.ingest.errors import (
    BadRequest,
    IngestError,
    MethodNotAllowed,
    RequestTimeout,
    UnsupportedMediaType,
)
from reelhouse.ingest.headers import clean_filename, clean_text, parse_int
from reelhouse.ingest.info import UploadInfo
from reelhouse.ingest.protocols import CreateRequest, TerminatingStore
from reelhouse.ingest.responses import error_response
from reelhouse.ingest.uploads import Holder, Uploads

LocationFor = Callable[[str | None, str], str]

#: The interop version of the newest draft text confirmed (draft -12, the editor's copy).
LATEST_INTEROP_VERSION = 8
#: Accepted by default, newest first. 7 and 8 share one wire format; 6 only named the lifetime
#: limit ``expires``; 4 and 5 did not require ``application/partial-upload`` on PATCH; 3 used the
#: inverted ``Upload-Incomplete``. Pass ``interop_versions=(8,)`` to match one version exactly.
INTEROP_VERSIONS: tuple[int, ...] = (8, 7, 6, 5, 4, 3)
PARTIAL_UPLOAD = "application/partial-upload"
PROBLEM_TYPES = "https://iana.org/assignments/http-problem-types#"
#: RFC 9651 Integers have at most 15 digits.
SF_INTEGER_MAX = 999_999_999_999_999

_SF_BOOLEAN = re.compile(r"^\?([01])(?:;[^,]*)?$")
_SF_INTEGER = re.compile(r"^(-?[0-9]{1,15})(?:;[^,]*)?$")
_DISPOSITION_PARAM = re.compile(r';\s*([^\s;=]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')
_CREATE_ALLOW = "OPTIONS, POST"
_MEMBER_ALLOW = "OPTIONS, HEAD, GET, PATCH, DELETE"


@dataclass(frozen=True)
class Dialect:
    """What one interop version changes; ``version`` None is a request that named none."""

    version: int | None

    @property
    def legacy_incomplete(self) -> bool:
        """Interop 3 (draft -01) sent ``Upload-Incomplete``, the inverse of ``Upload-Complete``."""
        return self.version == 3

    @property
    def partial_upload_required(self) -> bool:
        """From interop 6 (draft -04) on, PATCH must be ``application/partial-upload``."""
        return self.version is None or self.version >= 6

    def request_complete(self, request: Request) -> bool | None:
        """The request's completeness indicator, or None when it sent none (or an invalid one)."""
        complete = sf_boolean(request, "upload-complete")
        incomplete = sf_boolean(request, "upload-incomplete")
        if self.legacy_incomplete:
            return None if incomplete is None else not incomplete
        if self.version is None and complete is None and incomplete is not None:
            return not incomplete
        return complete

    def complete_header(self, complete: bool) -> dict[str, str]:
        if self.legacy_incomplete:
            return {"Upload-Incomplete": "?0" if complete else "?1"}
        return {"Upload-Complete": "?1" if complete else "?0"}


class Problem(IngestError):
    """An RFC 9457 problem of a type the draft registers."""

    def __init__(
        self,
        status: int,
        kind: str,
        title: str,
        detail: str,
        *,
        fields: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail, headers=headers)
        self.status = status
        self.code = kind
        self.title = title
        self.fields = fields or {}

    def response(self) -> Response:
        body = {
            "type": PROBLEM_TYPES + self.code,
            "title": self.title,
            "detail": self.message,
            **self.fields,
        }
        return Response(
            json.dumps(body),
            status_code=self.status,
            headers=self.headers,
            media_type="application/problem+json",
        )


def mismatching_offset(expected: int, provided: int, dialect: Dialect) -> Problem:
    return Problem(
        409,
        "mismatching-upload-offset",
        "Mismatching Upload Offset",
        f"Upload-Offset {provided} does not match the upload's offset {expected}; "
        "retrieve the offset with HEAD and resume from there.",
        fields={"expected-offset": expected, "provided-offset": provided},
        headers={"Upload-Offset": str(expected), **dialect.complete_header(False)},
    )


def inconsistent_length(detail: str) -> Problem:
    return Problem(400, "inconsistent-upload-length", "Inconsistent Upload Length Values", detail)


def completed_upload() -> Problem:
    return Problem(
        400,
        "completed-upload",
        "Upload Is Completed",
        "This upload is already complete; nothing more can be appended.",
    )


class DraftFrontend:
    """Serves the draft on a collection URL (``target`` None) or a direct-upload URL.

    ``location_for(target, upload_id)`` gives the absolute URL of an upload resource. Mount it with
    ``UploadRoutes(..., draft=DraftFrontend(uploads, location_for).handle)``.
    """

    def __init__(
        self,
        uploads: Uploads,
        location_for: LocationFor,
        *,
        interop_versions: tuple[int, ...] = INTEROP_VERSIONS,
    ) -> None:
        self.uploads = uploads
        self.location_for = location_for
        self.interop_versions = interop_versions

    async def handle(self, request: Request, target: str | None, upload_id: str | None) -> Response:
        method = request.method
        override = request.headers.get("x-http-method-override")
        if method == "POST" and override:
            method = override.strip().upper()
        try:
            dialect = self._dialect(request)
            return await self._route(request, method, dialect, target, upload_id)
        except Problem as problem:
            return problem.response()
        except IngestError as error:
            extra: dict[str, str] = {}
            if error.status == 413:
                extra["Upload-Limit"] = await self._limits_or_default(request, target)
            return error_response(error, extra)

    def _dialect(self, request: Request) -> Dialect:
        raw = request.headers.get("upload-draft-interop-version")
        if raw is None:
            return Dialect(None)
        version = sf_integer(request, "upload-draft-interop-version")
        if version is None or version not in self.interop_versions:
            supported = ", ".join(str(v) for v in self.interop_versions)
            raise BadRequest(
                f"Upload-Draft-Interop-Version {raw.strip()[:20]!r} is not supported; this server "
                f"speaks interop version(s) {supported}."
            )
        return Dialect(version)

    async def _route(
        self,
        request: Request,
        method: str,
        dialect: Dialect,
        target: str | None,
        upload_id: str | None,
    ) -> Response:
        if method == "OPTIONS":
            return await self.options(request, target, upload_id)
        if upload_id is None:
            if method == "POST":
                return await self.create(request, dialect, target)
            allow = _CREATE_ALLOW
        elif method in ("HEAD", "GET"):
            return await self.retrieve(request, dialect, target, upload_id)
        elif method == "PATCH":
            return await self.append(request, dialect, target, upload_id)
        elif method == "DELETE" and self.uploads.abilities.terminate:
            return await self.cancel(request, target, upload_id)
        else:
            allow = self._member_allow()
        return error_response(
            MethodNotAllowed(f"{method[:16]} is not allowed here."), {"Allow": allow}
        )

    def _member_allow(self) -> str:
        if self.uploads.abilities.terminate:
            return _MEMBER_ALLOW
        return _MEMBER_ALLOW.replace(", DELETE", "")

    # -- limits ------------------------------------------------------------------------------
    async def limits(
        self, request: Request, target: str | None, info: UploadInfo | None = None
    ) -> str:
        """``Upload-Limit``: ``min-size=0`` always, ``max-size`` and ``max-age`` when known."""
        members = ["min-size=0"]
        max_size = await self.uploads.max_size(request, target)
        if max_size is not None:
            members.append(f"max-size={min(max_size, SF_INTEGER_MAX)}")
        if info is not None and info.expires_at is not None and not info.complete:
            left = (info.expires_at - self.uploads.config.clock()).total_seconds()
            members.append(f"max-age={min(max(int(left), 0), SF_INTEGER_MAX)}")
        return ", ".join(members)

    async def _limits_or_default(self, request: Request, target: str | None) -> str:
        try:
            return await self.limits(request, target)
        except IngestError:
            return "min-size=0"

    async def options(
        self, request: Request, target: str | None, upload_id: str | None
    ) -> Response:
        headers = {
            "Accept-Patch": PARTIAL_UPLOAD,
            "Upload-Limit": await self.limits(request, target),
            "Allow": _CREATE_ALLOW if upload_id is None else self._member_allow(),
        }
        return Response(status_code=204, headers=headers)

    # -- creation ----------------------------------------------------------------------------
    async def create(self, request: Request, dialect: Dialect, target: str | None) -> Response:
        complete = dialect.request_complete(request)
        if complete is None:
            name = "Upload-Incomplete" if dialect.legacy_incomplete else "Upload-Complete"
            raise BadRequest(f"{name} (?1 or ?0) is required to create a resumable upload.")
        length = sf_integer(request, "upload-length")
        content_length = parse_int("Content-Length", request.headers.get("content-length"))
        size = length
        if complete and content_length is not None:
            if length is not None and length != content_length:
                raise inconsistent_length(
                    f"Upload-Length is {length} but the complete body has {content_length} bytes."
                )
            size = content_length
        if length is not None and content_length is not None and content_length > length:
            raise inconsistent_length(
                f"The body has {content_length} bytes, more than Upload-Length {length}."
            )
        if size is None and not self.uploads.abilities.defer_length:
            raise BadRequest(
                "This server needs the length up front: send Upload-Length, or Content-Length "
                "with Upload-Complete: ?1."
            )
        create = CreateRequest(
            request=request, target=target, size=size, metadata=_creation_metadata(request)
        )
        info = await self.uploads.create(create)
        location = self.location_for(target, info.id)
        # Here the draft wants a 104 (Upload Resumption Supported) carrying Location and
        # Upload-Limit when the client's interop version matches; ASGI cannot send one.
        end = BodyEnd.COMPLETE
        if not info.complete:
            async with self.uploads.locked(info.id) as holder:
                info, end = await self._stream(request, target, info, holder, complete=complete)
        return await self._after_body(request, dialect, target, info, end, complete, location)

    # -- existing uploads --------------------------------------------------------------------
    async def retrieve(
        self, request: Request, dialect: Dialect, target: str | None, upload_id: str
    ) -> Response:
        async with self.uploads.locked(upload_id):
            info = await self.uploads.load(request, target, upload_id)
        headers = {
            "Upload-Offset": str(info.offset),
            **dialect.complete_header(info.complete),
            "Upload-Limit": await self.limits(request, target, info),
            "Cache-Control": "no-store",
        }
        if info.size is not None:
            headers["Upload-Length"] = str(info.size)
        return Response(status_code=204, headers=headers)

    async def append(
        self, request: Request, dialect: Dialect, target: str | None, upload_id: str
    ) -> Response:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if dialect.partial_upload_required and media_type != PARTIAL_UPLOAD:
            raise UnsupportedMediaType(
                f"Appending needs 'Content-Type: {PARTIAL_UPLOAD}'.",
                headers={"Accept-Patch": PARTIAL_UPLOAD},
            )
        offset = sf_integer(request, "upload-offset")
        if offset is None:
            raise BadRequest("Upload-Offset (a non-negative integer) is required.")
        complete = dialect.request_complete(request)
        if complete is None:
            name = "Upload-Incomplete" if dialect.legacy_incomplete else "Upload-Complete"
            raise BadRequest(f"{name} (?1 or ?0) is required.")
        length = sf_integer(request, "upload-length")
        content_length = parse_int("Content-Length", request.headers.get("content-length"))
        async with self.uploads.locked(upload_id) as holder:
            info = await self.uploads.load(request, target, upload_id)
            if offset != info.offset:
                raise mismatching_offset(info.offset, offset, dialect)
            if info.complete:
                if content_length:
                    raise inconsistent_length(
                        f"The upload is complete at {info.size} bytes; nothing can be appended."
                    )
                if not complete:
                    raise completed_upload()
                info = await self.uploads.finish(info)
                return self._final(info, dialect, location=None)
            size = _agreed_length(info, offset, length, content_length, complete=complete)
            if size is not None and info.size is None:
                info = await self.uploads.declare_length(request, target, info, size)
            if info.complete:
                info = await self.uploads.finish(await self._seal(info))
                end = BodyEnd.COMPLETE
            else:
                info, end = await self._stream(request, target, info, holder, complete=complete)
        return await self._after_body(request, dialect, target, info, end, complete, None)

    async def cancel(self, request: Request, target: str | None, upload_id: str) -> Response:
        async with self.uploads.locked(upload_id):
            info = await self.uploads.load(request, target, upload_id)
            store = self.uploads.store
            assert isinstance(store, TerminatingStore)
            await store.terminate(info.id)
            await self.uploads.hooks.on_terminate(info)
        return Response(status_code=204)

    # -- shared ------------------------------------------------------------------------------
    async def _stream(
        self,
        request: Request,
        target: str | None,
        info: UploadInfo,
        holder: Holder,
        *,
        complete: bool,
    ) -> tuple[UploadInfo, BodyEnd]:
        """Append the body (the caller holds the lock); complete the upload if the client asks."""
        appended = await self.uploads.append(request, target, info, holder)
        info, end = appended.info, appended.body.end
        if end is BodyEnd.LIMIT and info.size is not None:
            raise inconsistent_length(
                f"The body runs past the upload's length of {info.size} bytes."
            )
        if complete and end is BodyEnd.COMPLETE and not info.complete:
            if info.size is not None:
                raise inconsistent_length(
                    f"Upload-Complete: ?1, but the upload has {info.offset} of its "
                    f"{info.size} bytes."
                )
            info = await self.uploads.declare_length(request, target, info, info.offset)
            info = await self.uploads.finish(await self._seal(info))
        return info, end

    async def _seal(self, info: UploadInfo) -> UploadInfo:
        """Let the store record what it records on completion (the sha256) when the length was
        declared only after the last byte arrived: an empty write, committed."""
        if not info.complete or info.sha256 is not None:
            return info
        writer = await self.uploads.store.open_writer(info)
        return await writer.commit()

    async def _after_body(
        self,
        request: Request,
        dialect: Dialect,
        target: str | None,
        info: UploadInfo,
        end: BodyEnd,
        complete: bool,
        location: str | None,
    ) -> Response:
        progress = {"Upload-Offset": str(info.offset), **dialect.complete_header(False)}
        if location is not None:
            progress["Location"] = location
        if end is BodyEnd.TIMEOUT:
            error = RequestTimeout(
                f"No data arrived for too long; {info.offset} bytes are saved. Retrieve the "
                "offset and resume."
            )
            return error_response(error, {**progress, "Connection": "close"})
        if complete and info.complete:
            return self._final(info, dialect, location=location)
        progress["Upload-Limit"] = await self.limits(request, target, info)
        if location is not None:
            return Response(status_code=201, headers=progress)
        return Response(status_code=204, headers=progress)

    @staticmethod
    def _final(info: UploadInfo, dialect: Dialect, *, location: str | None) -> Response:
        """The response of the target resource once it has the whole representation."""
        headers = {"Upload-Offset": str(info.offset), **dialect.complete_header(True)}
        if location is not None:
            headers["Location"] = location
        body = {"data": {"id": info.id, "size": info.offset, "sha256": info.sha256}}
        return Response(
            json.dumps(body), status_code=200, headers=headers, media_type="application/json"
        )


def _agreed_length(
    info: UploadInfo,
    offset: int,
    length: int | None,
    content_length: int | None,
    *,
    complete: bool,
) -> int | None:
    """The upload's length from every indicator, which must agree; None while unknown."""
    claims: list[tuple[str, int]] = []
    if info.size is not None:
        claims.append(("the upload's recorded length", info.size))
    if length is not None:
        claims.append(("Upload-Length", length))
    if complete and content_length is not None:
        claims.append(("Upload-Offset + Content-Length", offset + content_length))
    if len({value for _, value in claims}) > 1:
        described = ", ".join(f"{name} {value}" for name, value in claims)
        raise inconsistent_length(f"The length indicators disagree: {described}.")
    size = claims[0][1] if claims else None
    if size is not None and size < offset:
        raise inconsistent_length(f"The length {size} is less than the {offset} bytes stored.")
    if size is not None and content_length is not None and offset + content_length > size:
        raise inconsistent_length(
            f"The body has {content_length} bytes but the upload needs only {size - offset} more."
        )
    return size


def _creation_metadata(request: Request) -> dict[str, str]:
    """``filename`` from Content-Disposition, ``filetype`` from Content-Type."""
    metadata: dict[str, str] = {}
    disposition = request.headers.get("content-disposition")
    if disposition:
        filename = content_disposition_filename(disposition)
        if filename:
            metadata["filename"] = filename
    media_type = clean_text(request.headers.get("content-type", "").split(";")[0], limit=255)
    if media_type:
        metadata["filetype"] = media_type.lower()
    return metadata


def content_disposition_filename(header: str) -> str | None:
    """The sanitised file name of ``inline; filename="a.mp4"; filename*=UTF-8''a.mp4``;
    ``filename*`` wins over ``filename``, as RFC 6266 says."""
    params: dict[str, str] = {}
    for match in _DISPOSITION_PARAM.finditer(header[:2048]):
        name, value = match.group(1).lower(), match.group(2).strip()
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        params.setdefault(name, value)
    raw = None
    extended = params.get("filename*")
    if extended is not None and extended.count("'") >= 2:
        charset, _language, encoded = extended.split("'", 2)
        if charset.lower() in ("utf-8", "iso-8859-1"):
            raw = unquote(encoded, encoding=charset, errors="replace")
    if raw is None:
        raw = params.get("filename")
    if not raw:
        return None
    return clean_filename(raw) or None


def _field(request: Request, name: str) -> str | None:
    """One field's value, its lines joined as RFC 9110 says (so two lines make an invalid Item)."""
    values = request.headers.getlist(name)
    if not values:
        return None
    return ", ".join(values).strip(" \t")


def sf_boolean(request: Request, name: str) -> bool | None:
    """An RFC 9651 Boolean Item (parameters ignored); None if absent or invalid."""
    value = _field(request, name)
    match = _SF_BOOLEAN.match(value) if value is not None else None
    return None if match is None else match.group(1) == "1"


def sf_integer(request: Request, name: str) -> int | None:
    """A non-negative RFC 9651 Integer Item (parameters ignored); None if absent or invalid."""
    value = _field(request, name)
    match = _SF_INTEGER.match(value) if value is not None else None
    if match is None:
        return None
    number = int(match.group(1))
    return number if number >= 0 else None
