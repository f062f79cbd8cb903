"""CORS for browser uploads (tusd's header lists plus what checksum, expiry and PUT need)."""

from __future__ import annotations

ALLOW_METHODS = "POST, HEAD, PATCH, PUT, OPTIONS, GET, DELETE"
ALLOW_HEADERS = ", ".join(
    [
        "Authorization",
        "Origin",
        "X-Requested-With",
        "X-Request-ID",
        "X-HTTP-Method-Override",
        "Content-Type",
        "Content-Range",
        "Content-Disposition",
        "Upload-Length",
        "Upload-Offset",
        "Tus-Resumable",
        "Upload-Metadata",
        "Upload-Defer-Length",
        "Upload-Concat",
        "Upload-Checksum",
        "Upload-Complete",
        "Upload-Incomplete",
        "Upload-Draft-Interop-Version",
    ]
)
EXPOSE_HEADERS = ", ".join(
    [
        "Location",
        "Range",
        "Upload-Offset",
        "Upload-Length",
        "Upload-Expires",
        "Upload-Metadata",
        "Upload-Defer-Length",
        "Upload-Concat",
        "Upload-Complete",
        "Upload-Limit",
        "Upload-Draft-Interop-Version",
        "Tus-Version",
        "Tus-Resumable",
        "Tus-Max-Size",
        "Tus-Extension",
        "Tus-Checksum-Algorithm",
        "Retry-After",  # a proxy's 429/503: browser clients wait as long as it asks
    ]
)


def origin_allowed(allowed: str | None, origin: str) -> bool:
    """``allowed`` is ``*``, one origin, or a space/comma separated list of origins."""
    if not allowed:
        return False
    choices = {item.strip().rstrip("/") for item in allowed.replace(",", " ").split()}
    return "*" in choices or origin.rstrip("/") in choices


def cors_headers(allowed: str | None, origin: str | None, *, preflight: bool) -> dict[str, str]:
    """Headers for a response to a request from ``origin``; empty when it is not allowed."""
    if origin is None or not origin_allowed(allowed, origin):
        return {}
    headers = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    if preflight:
        headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
        headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
        headers["Access-Control-Max-Age"] = "86400"
    else:
        headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
    return headers
