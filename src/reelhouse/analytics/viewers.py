"""Who is watching, without keeping who they are.

A viewer is ``HMAC(daily_salt, ip + user agent)`` where ``daily_salt = HMAC(secret, day)``: the
same browser on the same day counts once towards unique viewers, the raw IP is never stored,
and since the salt changes with the UTC day, hashes of different days cannot be joined to
follow a person over time. Pure functions: the secret and the day are passed in.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

_FAMILIES = (
    # Order matters: Edge and Opera say "Chrome", Chrome says "Safari".
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)


def daily_salt(secret: bytes, day: date) -> bytes:
    """The salt of one UTC ``day``."""
    return hmac.new(secret, day.isoformat().encode(), hashlib.sha256).digest()


def viewer_hash(secret: bytes, day: date, ip: str, user_agent: str) -> str:
    """The day's pseudonymous id of the viewer at ``ip`` with ``user_agent`` (hex)."""
    material = f"{ip}\n{user_agent}".encode()
    return hmac.new(daily_salt(secret, day), material, hashlib.sha256).hexdigest()


def ua_family(user_agent: str) -> str:
    """The browser family named in a User-Agent header, else ``"Other"``."""
    for marker, family in _FAMILIES:
        if marker in user_agent:
            return family
    return "Other"
