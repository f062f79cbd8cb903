"""Identifiers.

Ids handed out on the wire are random and unguessable: an upload URL *is* a credential, so its id
carries 160 bits from the operating system's CSPRNG. The random source is passed in so tests can
control it; production callers use :func:`secrets.token_bytes`.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable

RandomBytes = Callable[[int], bytes]

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _base62(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = []
    while number:
        number, digit = divmod(number, 62)
        out.append(_ALPHABET[digit])
    return "".join(reversed(out)) or "0"


def new_id(random_bytes: RandomBytes = secrets.token_bytes, *, bits: int = 160) -> str:
    """A url-safe, case-sensitive id with ``bits`` of entropy (at least 128)."""
    if bits < 128:
        raise ValueError("ids carry at least 128 bits")
    raw = random_bytes(bits // 8)
    return _base62(raw).rjust(28 if bits == 160 else 0, "0")


def new_secret(random_bytes: RandomBytes = secrets.token_bytes) -> str:
    """A 256-bit secret for access tokens and webhook signing."""
    return base64.urlsafe_b64encode(random_bytes(32)).rstrip(b"=").decode()


def is_well_formed(value: str) -> bool:
    """True when ``value`` could be an id we made (cheap check before any lookup)."""
    return 16 <= len(value) <= 64 and all(c in _ALPHABET for c in value)
