"""Errors of the playback surface, and the one table that turns them into HTTP.

mux-player reads the status code of a stream request and nothing else (see
``docs/playback.md``): 400 means a malformed playback id, 403 a token problem, 404 an unknown
id, 412 an asset that cannot be played yet. Those codes are the playback protocol, so they live
here beside it, as the tus statuses live in ``ingest``; the body is Mux's error JSON.
"""

from __future__ import annotations

from typing import Final

from reelhouse.errors import ReelhouseError


class DeliveryError(ReelhouseError):
    """A stream request that cannot be answered with media."""


class MalformedPlaybackId(DeliveryError):
    code = "invalid_parameters"

    def __init__(self) -> None:
        super().__init__("This is not a valid playback ID")


class PlaybackNotFound(DeliveryError):
    """No such playback id, or no such file under it (never says which of the two)."""

    code = "not_found"

    def __init__(self) -> None:
        super().__init__("The requested playback ID or file does not exist")


class TokenRequired(DeliveryError):
    code = "forbidden"

    def __init__(self, message: str = "This playback ID requires a signed token") -> None:
        super().__init__(message)


class AssetNotReady(DeliveryError):
    code = "not_ready"

    def __init__(self, message: str = "This asset is still being prepared") -> None:
        super().__init__(message)


class AssetErrored(DeliveryError):
    """The asset failed to prepare; it will never play (412 like mux-player expects)."""

    code = "asset_errored"

    def __init__(self) -> None:
        super().__init__("This asset errored while being prepared and cannot be played")


class CorruptManifest(DeliveryError):
    """A stored manifest is not what the pipeline writes (answered 500)."""

    code = "internal_error"


STATUS: Final[dict[type[DeliveryError], int]] = {
    MalformedPlaybackId: 400,
    TokenRequired: 403,
    PlaybackNotFound: 404,
    AssetNotReady: 412,
    AssetErrored: 412,
}


def status_for(exc: DeliveryError) -> int:
    """The HTTP status of ``exc`` (most specific class in the table wins; else 500)."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500
