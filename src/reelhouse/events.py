"""Event types written to the outbox and delivered as webhooks (Mux's names, verbatim)."""

from __future__ import annotations

from typing import Final

UPLOAD_CREATED: Final = "video.upload.created"
UPLOAD_CANCELLED: Final = "video.upload.cancelled"
UPLOAD_ASSET_CREATED: Final = "video.upload.asset_created"
UPLOAD_ERRORED: Final = "video.upload.errored"

ASSET_CREATED: Final = "video.asset.created"
ASSET_READY: Final = "video.asset.ready"
ASSET_ERRORED: Final = "video.asset.errored"
ASSET_UPDATED: Final = "video.asset.updated"
ASSET_DELETED: Final = "video.asset.deleted"
ASSET_WARNING: Final = "video.asset.warning"
ASSET_STATIC_RENDITION_READY: Final = "video.asset.static_rendition.ready"
ASSET_TRACK_READY: Final = "video.asset.track.ready"

# The job that delivers the outbox; appending an event defers one (one waiting is enough).
DISPATCH_TASK: Final = "reelhouse.dispatch_outbox"

OBJECT_UPLOAD: Final = "upload"
OBJECT_ASSET: Final = "asset"

UPLOAD_EVENTS: Final = frozenset(
    {UPLOAD_CREATED, UPLOAD_CANCELLED, UPLOAD_ASSET_CREATED, UPLOAD_ERRORED}
)
