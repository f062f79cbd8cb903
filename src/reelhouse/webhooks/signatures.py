"""Webhook signatures, as Mux makes and checks them: pure functions, no I/O.

Header ``mux-signature: t=<unix seconds>,v1=<hex>`` where the hex is HMAC-SHA256 keyed with the
endpoint's signing secret (UTF-8) over ``"{t}.{raw body}"``. A receiver accepts when any ``v1``
entry matches (several are allowed, e.g. during a secret rotation) and the timestamp is not older
than the tolerance; timestamps in the future pass, as in ``@mux/mux-node``.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

from reelhouse.errors import ReelhouseError

HEADER: Final = "mux-signature"
SCHEME: Final = "v1"
DEFAULT_TOLERANCE: Final = 300


class SignatureError(ReelhouseError):
    """A webhook signature did not verify. ``reason`` says why: ``malformed``, ``no_signature``,
    ``mismatch`` or ``too_old``."""

    code = "invalid_signature"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _digest(secret: str, body: bytes, timestamp: int) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``mux-signature`` header value for ``body`` sent at ``timestamp`` (unix seconds)."""
    return f"t={timestamp},{SCHEME}={_digest(secret, body, timestamp)}"


def parse(header: str) -> tuple[int, list[str]]:
    """``(timestamp, [v1 signatures])`` from a header value; ``SignatureError`` (malformed)
    when there is no integer ``t``."""
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureError("malformed", "Webhook timestamp is not an integer") from None
        elif key == SCHEME:
            signatures.append(value)
    if timestamp is None:
        raise SignatureError("malformed", "Unable to extract timestamp and signatures from header")
    return timestamp, signatures


def verify(
    secret: str, body: bytes, header: str, *, now: float, tolerance: int = DEFAULT_TOLERANCE
) -> None:
    """Return when ``header`` signs ``body`` with ``secret`` and is at most ``tolerance``
    seconds old at ``now`` (unix seconds); raise :class:`SignatureError` otherwise."""
    timestamp, signatures = parse(header)
    if not signatures:
        raise SignatureError("no_signature", "No v1 signatures found")
    expected = _digest(secret, body, timestamp).encode()
    # Compare against every entry, never stopping early, so timing says nothing about which.
    matched = False
    for candidate in signatures:
        matched |= hmac.compare_digest(expected, candidate.encode("utf-8", "replace"))
    if not matched:
        raise SignatureError(
            "mismatch", "No signatures found matching the expected signature for payload"
        )
    if int(now) - timestamp > tolerance:
        raise SignatureError("too_old", "Webhook timestamp is too old")
