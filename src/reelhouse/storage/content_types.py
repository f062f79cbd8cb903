"""The media type an object gets when its writer does not name one.

A fixed table rather than :mod:`mimetypes`, whose answers depend on the machine's
``/etc/mime.types``: a segment must get the same type on every node.
"""

from __future__ import annotations

DEFAULT_CONTENT_TYPE = "application/octet-stream"

_BY_EXTENSION = {
    "m3u8": "application/vnd.apple.mpegurl",
    "mpd": "application/dash+xml",
    "m4s": "video/iso.segment",
    "mp4": "video/mp4",
    "m4a": "audio/mp4",
    "m4v": "video/mp4",
    "ts": "video/mp2t",
    "aac": "audio/aac",
    "vtt": "text/vtt",
    "json": "application/json",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "gif": "image/gif",
    "txt": "text/plain",
}


def guess_content_type(key: str) -> str:
    """The media type for ``key``'s extension, or ``application/octet-stream``."""
    name = key.rsplit("/", 1)[-1]
    if "." not in name:
        return DEFAULT_CONTENT_TYPE
    return _BY_EXTENSION.get(name.rsplit(".", 1)[-1].lower(), DEFAULT_CONTENT_TYPE)
