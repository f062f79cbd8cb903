"""The errors of outbound HTTP: a request we would not make, and one that did not work out.

Both carry a stable ``code`` (the wire ``type``) and a ``reason``: a short machine-readable word
saying which rule or failure it was (``loopback``, ``metadata``, ``timeout``, ``too_large``, …),
so callers and tests branch on data, never on message text.
"""

from __future__ import annotations

from reelhouse.errors import InvalidParameters, ReelhouseError


class OutboundRefused(InvalidParameters):
    """The guard would not send the request: a scheme, port, host name or address the policy
    forbids. Raised before any byte reaches the refused address. It is the caller's input that is
    wrong, so it is an ``InvalidParameters`` (400 where it meets HTTP)."""

    code = "outbound_refused"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class OutboundFailed(ReelhouseError):
    """The request was allowed but did not succeed: it could not resolve or connect, timed out,
    answered too many redirects or too many bytes, or answered a status the caller does not take.
    ``status`` is the HTTP status when there was one."""

    code = "outbound_failed"

    def __init__(self, reason: str, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status
