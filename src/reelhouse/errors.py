"""The domain's error types.

Every error a caller can see has a stable ``code`` (the Mux error ``type`` on the wire) and a
message a person understands. They are mapped to HTTP in exactly one table
(``reelhouse.server.errors``); nothing below the server knows about status codes.
"""

from __future__ import annotations


class ReelhouseError(Exception):
    """Base of every error reelhouse raises on purpose."""

    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidParameters(ReelhouseError):
    code = "invalid_parameters"


class Unauthorized(ReelhouseError):
    code = "unauthorized"

    def __init__(self, message: str = "Unauthorized request") -> None:
        super().__init__(message)


class Forbidden(ReelhouseError):
    code = "forbidden"


NOT_FOUND_MESSAGE = "The requested resource either doesn't exist or you don't have access to it."


class NotFound(ReelhouseError):
    code = "not_found"

    def __init__(self, message: str = NOT_FOUND_MESSAGE) -> None:
        super().__init__(message)


class Conflict(ReelhouseError):
    code = "conflict"


class Gone(ReelhouseError):
    code = "gone"


class TooLarge(ReelhouseError):
    code = "too_large"


class RateLimited(ReelhouseError):
    code = "too_many_requests"


class Unavailable(ReelhouseError):
    code = "service_unavailable"


class ConfigError(ReelhouseError):
    code = "configuration_error"
