"""Errors of the upload protocols.

Each carries the HTTP status the protocols define for it (tus 1.0 and the resumable-upload draft are
HTTP protocols, so the status is part of the contract here) and a message for people. The front-ends
turn them into responses; application hooks raise :class:`HookRejected` to refuse a request.
"""

from __future__ import annotations


class IngestError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class BadRequest(IngestError):
    status = 400
    code = "invalid_parameters"


class Forbidden(IngestError):
    status = 403
    code = "forbidden"


class UploadNotFound(IngestError):
    status = 404
    code = "not_found"

    def __init__(self, message: str = "No upload exists at this URL.") -> None:
        super().__init__(message)


class UploadGone(IngestError):
    status = 410
    code = "gone"


class OffsetMismatch(IngestError):
    status = 409
    code = "offset_mismatch"

    def __init__(self, expected: int, provided: int) -> None:
        super().__init__(
            f"Upload-Offset {provided} does not match the upload's current offset {expected}; "
            "ask for the offset with HEAD and resume from there."
        )
        self.expected = expected
        self.provided = provided


class Conflict(IngestError):
    status = 409
    code = "conflict"


class PreconditionFailed(IngestError):
    status = 412
    code = "unsupported_version"


class TooLarge(IngestError):
    status = 413
    code = "too_large"


class UnsupportedMediaType(IngestError):
    status = 415
    code = "unsupported_media_type"


class Locked(IngestError):
    status = 423
    code = "locked"


class ChecksumMismatch(IngestError):
    status = 460
    code = "checksum_mismatch"


class HookRejected(IngestError):
    """Raised by application hooks to refuse a request with a given status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class StoreError(IngestError):
    """The store failed (disk full, bucket unreachable); the original error is chained."""

    status = 500
    code = "storage_error"


class MethodNotAllowed(IngestError):
    status = 405
    code = "method_not_allowed"


class RequestTimeout(IngestError):
    status = 408
    code = "request_timeout"
