"""The REST API surface: one router holding every Mux-compatible endpoint, for the server's
composition root to mount. Error handling is installed by the server (one table, one place)."""

from __future__ import annotations

from fastapi import APIRouter

from reelhouse.api.assets import assets_router
from reelhouse.api.data import data_router
from reelhouse.api.deps import ApiDeps
from reelhouse.api.playback_ids import playback_ids_router
from reelhouse.api.playback_restrictions import playback_restrictions_router
from reelhouse.api.signing_keys import signing_keys_router
from reelhouse.api.static_renditions import static_renditions_router
from reelhouse.api.text_tracks import text_tracks_router
from reelhouse.api.uploads import uploads_router
from reelhouse.api.webhooks import webhooks_router
from reelhouse.schemas.metrics import MetricsSource

__all__ = ["ApiDeps", "MetricsSource", "build_api_router"]


def build_api_router(deps: ApiDeps, metrics: MetricsSource | None = None) -> APIRouter:
    """Every REST endpoint, bound to ``deps``; ``/data/v1`` only when ``metrics`` is given."""
    router = APIRouter()
    router.include_router(uploads_router(deps))
    router.include_router(assets_router(deps))
    router.include_router(playback_ids_router(deps))
    router.include_router(static_renditions_router(deps))
    router.include_router(text_tracks_router(deps))
    router.include_router(webhooks_router(deps))
    router.include_router(signing_keys_router(deps))
    router.include_router(playback_restrictions_router(deps))
    if metrics is not None:
        router.include_router(data_router(deps, metrics))
    return router
