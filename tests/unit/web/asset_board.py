"""The dashboard in-process with an object store, for the library and asset page tests: a
client, tokens with chosen permissions, signing in, and assets made through the real use cases
(a direct upload with its file name, a URL input with a title or passthrough), some of them
published with renditions as the finalize job leaves them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import update

from reelhouse.db.models import Asset, Rendition
from reelhouse.media import assets, uploads
from reelhouse.schemas.assets import CreateAssetRequest
from reelhouse.schemas.uploads import CreateUploadRequest
from reelhouse.storage.local import LocalObjectStore

from .dashboard_app import (
    BASE,
    Clock,
    Sessions,
    dashboard_client,
    dashboard_deps,
    make_token,
    sign_in,
)

START = datetime(2026, 2, 3, 9, 0, tzinfo=UTC)
READ_WRITE = ("video:read", "video:write")
EVERYTHING = ("video:read", "video:write", "system:read", "system:write")


@dataclass
class Board:
    """A client of the dashboard, the store behind it and the environment it signs in to."""

    http: httpx.AsyncClient
    store: LocalObjectStore
    sessions: Sessions
    clock: Clock
    environment_id: str
    csrf: str = ""

    async def sign_in(self, permissions: Iterable[str] = READ_WRITE) -> str:
        token = await make_token(self.sessions, self.environment_id, permissions, now=START)
        self.csrf = await sign_in(self.http, token)
        return self.csrf

    async def post_form(self, path: str, **fields: str) -> httpx.Response:
        return await self.http.post(path, data={"csrf": self.csrf, **fields})

    async def post_json(self, path: str, body: Any) -> httpx.Response:
        return await self.http.post(path, json=body, headers={"X-CSRF-Token": self.csrf})


@asynccontextmanager
async def board_client(
    sessions: Sessions, environment_id: str, folder: Path, clock: Clock | None = None
) -> AsyncIterator[Board]:
    """A signed-out client of the dashboard with a local store under ``folder``; its clock
    starts at ``START`` unless given."""
    clock = clock or Clock(START)
    store = LocalObjectStore(folder / "objects", fsync=False)
    async with dashboard_client(dashboard_deps(sessions, clock, store=store)) as http:
        yield Board(http, store, sessions, clock, environment_id)


async def uploaded_asset(
    sessions: Sessions,
    environment_id: str,
    filename: str | None,
    *,
    at: datetime,
    size: int = 123_456,
    **settings: Any,
) -> Asset:
    """An asset from a completed direct upload of a file called ``filename``."""
    request = CreateUploadRequest.model_validate(
        {"new_asset_settings": {"playback_policy": ["public"], **settings}}
    )
    async with sessions.begin() as session:
        upload = await uploads.create_direct_upload(
            session, environment_id, request, now=at, base_url=BASE
        )
        await uploads.record_upload_complete(
            session, upload.id, size=size, sha256="", filename=filename, now=at
        )
        asset = await assets.create_asset_from_upload(session, upload.id, now=at)
    assert asset is not None
    return asset


async def url_asset(
    sessions: Sessions, environment_id: str, *, at: datetime, **fields: Any
) -> Asset:
    """An asset from an input URL (``passthrough``, ``meta``, ``playback_policy`` ...)."""
    request = CreateAssetRequest.model_validate(
        {"inputs": [{"url": "https://media.example/clip.mp4"}], **fields}
    )
    async with sessions.begin() as session:
        return await assets.create_asset_from_url(session, environment_id, request, now=at)


async def publish(sessions: Sessions, asset_id: str, *, status: str = "ready") -> None:
    """Leave the asset as the finalize job does: ready on version 1 with a 720p and a 360p
    rung and an audio rendition, probed input info and a duration (or errored)."""
    async with sessions.begin() as session:
        values: dict[str, Any] = {"status": status, "progress": 100.0}
        if status == "ready":
            values |= {
                "version": 1,
                "duration": 12.5,
                "max_stored_resolution": "HD",
                "aspect_ratio": "16:9",
                "input_info": [
                    {
                        "file": {
                            "container_format": "mov,mp4,m4a,3gp,3g2,mj2",
                            "tracks": [
                                {
                                    "type": "video",
                                    "encoding": "h264",
                                    "width": 1280,
                                    "height": 720,
                                    "frame_rate": 25.0,
                                },
                                {
                                    "type": "audio",
                                    "encoding": "aac",
                                    "sample_rate": 48000,
                                    "channels": 2,
                                },
                            ],
                        }
                    }
                ],
            }
        else:
            values["errors"] = {"type": "invalid_input", "messages": ["not a video"]}
        await session.execute(update(Asset).where(Asset.id == asset_id).values(**values))
        if status != "ready":
            return
        rungs = [
            ("v0", "video", 1280, 720, 2_400_000, 1_800_000, "avc1.64001f", None),
            ("v1", "video", 640, 360, 800_000, 600_000, "avc1.64001e", None),
            ("a0", "audio", None, None, 128_000, 125_000, "mp4a.40.2", 2),
        ]
        for name, kind, width, height, peak, average, codecs, channels in rungs:
            session.add(
                Rendition(
                    asset_id=asset_id,
                    version=1,
                    name=name,
                    kind=kind,
                    width=width,
                    height=height,
                    frame_rate=25.0 if kind == "video" else None,
                    bandwidth=peak,
                    average_bandwidth=average,
                    codecs=codecs,
                    channels=channels,
                    passthrough=False,
                    playlist_key=f"v1/{name}/index.m3u8",
                    created_at=START,
                )
            )
