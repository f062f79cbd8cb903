"""The direct-upload ``on_finish`` hook: completion and the asset in one transaction."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.db.models import Asset
from reelhouse.ingest.info import UploadInfo
from reelhouse.media import uploads
from reelhouse.media.upload_records import SessionRecords
from reelhouse.metrics import Metrics
from reelhouse.schemas.uploads import CreateUploadRequest
from reelhouse.server.upload_hooks import DirectUploadHooks, HookDeps

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
Sessions = async_sessionmaker[AsyncSession]


def _hooks(sessions: Sessions) -> DirectUploadHooks:
    deps = HookDeps(
        records=SessionRecords(sessions),
        metrics=Metrics(),
        clock=lambda: T0,
        default_max_bytes=1 << 20,
        files_cors_origin="*",
        files_timeout=3600,
    )
    return DirectUploadHooks(deps)


def _info(upload_id: str, env: str) -> UploadInfo:
    owner = {"environment_id": env, "direct_upload_id": upload_id}
    return UploadInfo(
        id=upload_id, size=5, offset=5, created_at=T0, owner=owner, sha256="ab", finished=True
    )


async def _assets(sessions: Sessions, upload_id: str) -> list[Asset]:
    async with sessions() as s:
        return list((await s.scalars(select(Asset).where(Asset.upload_id == upload_id))).all())


async def test_finish_creates_the_asset_once(sessions: Sessions, environment_id: str) -> None:
    request = CreateUploadRequest.model_validate(
        {"new_asset_settings": {"playback_policies": ["public"]}}
    )
    async with sessions.begin() as s:
        upload = await uploads.create_direct_upload(s, environment_id, request, now=T0, base_url="")
    hooks = _hooks(sessions)
    await hooks.on_finish(_info(upload.id, environment_id))
    await hooks.on_finish(_info(upload.id, environment_id))
    [asset] = await _assets(sessions, upload.id)
    async with sessions() as s:
        row = await uploads.get_direct_upload(s, environment_id, upload.id)
    assert row.status == "asset_created" and row.asset_id == asset.id
    assert row.size == 5 and row.completed_at == T0


async def test_finish_of_a_cancelled_upload_makes_no_asset(
    sessions: Sessions, environment_id: str
) -> None:
    async with sessions.begin() as s:
        upload = await uploads.create_direct_upload(
            s, environment_id, CreateUploadRequest(), now=T0, base_url=""
        )
        await uploads.cancel_direct_upload(s, environment_id, upload.id, now=T0)
    await _hooks(sessions).on_finish(_info(upload.id, environment_id))
    assert await _assets(sessions, upload.id) == []
