"""Asset use cases: creation from a completed upload (once, and only from a live upload), from a
URL, reading, cursor pagination, update, delete, input info and the reconciler's query."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse import events
from reelhouse.db.models import Asset, DirectUpload, OutboxEvent, PlaybackId
from reelhouse.errors import InvalidParameters, NotFound
from reelhouse.media import assets, playback_ids, uploads
from reelhouse.schemas.assets import CreateAssetRequest, UpdateAssetRequest
from reelhouse.schemas.uploads import CreateUploadRequest

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
Sessions = async_sessionmaker[AsyncSession]
URL = "https://media.example/clip.mp4"


async def _upload(
    sessions: Sessions, env: str, *, complete: bool = True, **settings: Any
) -> DirectUpload:
    request = CreateUploadRequest.model_validate({"new_asset_settings": settings})
    async with sessions.begin() as s:
        upload = await uploads.create_direct_upload(s, env, request, now=T0, base_url="http://x")
        if complete:
            await uploads.record_upload_complete(
                s, upload.id, size=10, sha256="", filename=None, now=T0
            )
    return upload


async def _from_url(sessions: Sessions, env: str, at: datetime = T0, **fields: Any) -> Asset:
    request = CreateAssetRequest.model_validate({"inputs": [{"url": URL}], **fields})
    async with sessions.begin() as s:
        return await assets.create_asset_from_url(s, env, request, now=at)


async def _events(sessions: Sessions, object_id: str) -> list[OutboxEvent]:
    async with sessions() as s:
        rows = await s.scalars(
            select(OutboxEvent).where(OutboxEvent.object_id == object_id).order_by(OutboxEvent.seq)
        )
        return list(rows.all())


async def _jobs(sessions: Sessions, asset_id: str) -> list[tuple[str, dict[str, Any], str]]:
    async with sessions() as s:
        rows = await s.execute(
            text(
                "SELECT task_name, args, queueing_lock FROM procrastinate_jobs "
                "WHERE args->>'asset_id' = :id"
            ),
            {"id": asset_id},
        )
        return [(r[0], r[1], r[2]) for r in rows.all()]


async def _asset_of(sessions: Sessions, upload_id: str) -> list[Asset]:
    async with sessions() as s:
        return list((await s.scalars(select(Asset).where(Asset.upload_id == upload_id))).all())


async def test_completed_upload_becomes_an_asset_with_job_and_events(
    sessions: Sessions, environment_id: str
) -> None:
    upload = await _upload(
        sessions, environment_id, playback_policies=["public", "signed"], passthrough="p1"
    )
    async with sessions.begin() as s:
        asset = await assets.create_asset_from_upload(s, upload.id, now=T0)
    assert asset is not None
    assert asset.status == "preparing" and asset.ingest_type == "on_demand_direct_upload"
    assert asset.upload_id == upload.id and asset.passthrough == "p1"
    assert asset.inputs == [{}]

    async with sessions() as s:
        row = await uploads.get_direct_upload(s, environment_id, upload.id)
        payload = await assets.asset_payload(s, asset)
    assert row.status == "asset_created" and row.asset_id == asset.id
    assert sorted(p["policy"] for p in payload["playback_ids"]) == ["public", "signed"]
    assert payload["created_at"] == int(T0.timestamp())

    jobs = await _jobs(sessions, asset.id)
    assert jobs == [("reelhouse.prepare_asset", {"asset_id": asset.id}, f"prepare:{asset.id}")]
    [created_upload, upload_event] = await _events(sessions, upload.id)
    assert created_upload.type == events.UPLOAD_CREATED
    assert upload_event.type == events.UPLOAD_ASSET_CREATED
    assert (
        upload_event.data["asset_id"] == asset.id and upload_event.data["status"] == "asset_created"
    )
    [asset_event] = await _events(sessions, asset.id)
    assert asset_event.type == events.ASSET_CREATED and asset_event.object_type == "asset"
    assert asset_event.data["id"] == asset.id and asset_event.data["status"] == "preparing"


async def test_a_second_call_changes_nothing(sessions: Sessions, environment_id: str) -> None:
    upload = await _upload(sessions, environment_id)
    async with sessions.begin() as s:
        first = await assets.create_asset_from_upload(s, upload.id, now=T0)
    async with sessions.begin() as s:
        second = await assets.create_asset_from_upload(s, upload.id, now=T0)
    assert first is not None and second is None
    assert len(await _asset_of(sessions, upload.id)) == 1
    assert len(await _events(sessions, first.id)) == 1


async def test_concurrent_calls_make_one_asset(sessions: Sessions, environment_id: str) -> None:
    upload = await _upload(sessions, environment_id)

    async def attempt() -> Asset | None:
        async with sessions.begin() as s:
            return await assets.create_asset_from_upload(s, upload.id, now=T0)

    results = await asyncio.gather(attempt(), attempt(), attempt())
    made = [r for r in results if r is not None]
    assert len(made) == 1
    [asset] = await _asset_of(sessions, upload.id)
    assert asset.id == made[0].id
    assert len(await _jobs(sessions, asset.id)) == 1


async def test_cancelled_or_incomplete_uploads_get_no_asset(
    sessions: Sessions, environment_id: str
) -> None:
    cancelled = await _upload(sessions, environment_id, complete=False)
    async with sessions.begin() as s:
        await uploads.cancel_direct_upload(s, environment_id, cancelled.id, now=T0)
        await uploads.record_upload_complete(
            s, cancelled.id, size=1, sha256="", filename=None, now=T0
        )
    incomplete = await _upload(sessions, environment_id, complete=False)
    for upload_id in (cancelled.id, incomplete.id, "0" * 28):
        async with sessions.begin() as s:
            assert await assets.create_asset_from_upload(s, upload_id, now=T0) is None
        assert await _asset_of(sessions, upload_id) == []


async def test_rollback_leaves_neither_job_nor_events(
    sessions: Sessions, environment_id: str
) -> None:
    upload = await _upload(sessions, environment_id)
    made: list[str] = []
    with pytest.raises(RuntimeError):
        async with sessions.begin() as s:
            asset = await assets.create_asset_from_upload(s, upload.id, now=T0)
            assert asset is not None
            made.append(asset.id)
            inside = await s.scalars(select(OutboxEvent).where(OutboxEvent.object_id == asset.id))
            assert len(inside.all()) == 1
            raise RuntimeError("crash before commit")
    assert await _asset_of(sessions, upload.id) == []
    assert await _jobs(sessions, made[0]) == []
    assert await _events(sessions, made[0]) == []
    assert [e.type for e in await _events(sessions, upload.id)] == [events.UPLOAD_CREATED]
    async with sessions() as s:
        assert (await uploads.get_direct_upload(s, environment_id, upload.id)).status == "waiting"


async def test_reconciler_finds_completed_uploads_without_asset(
    sessions: Sessions, environment_id: str
) -> None:
    stuck = await _upload(sessions, environment_id)
    done = await _upload(sessions, environment_id)
    await _upload(sessions, environment_id, complete=False)
    async with sessions.begin() as s:
        await assets.create_asset_from_upload(s, done.id, now=T0)
    async with sessions() as s:
        found = await assets.completed_uploads_without_asset(
            s, T0 + timedelta(minutes=5), timedelta(minutes=1)
        )
        recent = await assets.completed_uploads_without_asset(s, T0, timedelta(minutes=1))
    assert stuck.id in found and done.id not in found
    assert stuck.id not in recent


async def test_create_from_url(sessions: Sessions, environment_id: str) -> None:
    asset = await _from_url(
        sessions,
        environment_id,
        playback_policy="signed",
        encoding_tier="baseline",
        mp4_support="standard",
        meta={"title": "T"},
        normalize_audio=False,
        copy_overlays=True,
    )
    assert asset.ingest_type == "on_demand_url" and asset.upload_id is None
    assert asset.inputs == [{"url": URL}]
    assert await _jobs(sessions, asset.id) == [
        ("reelhouse.fetch_input", {"asset_id": asset.id}, f"fetch:{asset.id}")
    ]
    [event] = await _events(sessions, asset.id)
    assert event.type == events.ASSET_CREATED
    async with sessions() as s:
        [view] = await assets.asset_views(s, [asset])
    assert view["created_at"] == str(int(T0.timestamp()))
    assert view["video_quality"] == "basic" and view["encoding_tier"] == "baseline"
    assert view["mp4_support"] == "standard" and view["meta"] == {"title": "T"}
    assert view["progress"] == {"state": "ingesting", "progress": 0.0}
    assert view["max_resolution_tier"] == "1080p" and view["master_access"] == "none"
    assert [p["policy"] for p in view["playback_ids"]] == ["signed"]
    assert "duration" not in view and "errors" not in view and "upload_id" not in view


async def test_clip_needs_a_source_asset_of_the_same_environment(
    sessions: Sessions, environment_id: str
) -> None:
    source = await _from_url(sessions, environment_id)
    request = CreateAssetRequest.model_validate({"input": f"mux://assets/{source.id}"})
    async with sessions.begin() as s:
        clip = await assets.create_asset_from_url(s, environment_id, request, now=T0)
        [view] = await assets.asset_views(s, [clip])
    assert clip.ingest_type == "on_demand_clip"
    assert view["source_asset_id"] == source.id
    missing = CreateAssetRequest.model_validate({"input": "mux://assets/" + "0" * 28})
    async with sessions.begin() as s:
        with pytest.raises(InvalidParameters):
            await assets.create_asset_from_url(s, environment_id, missing, now=T0)


async def test_wire_reports_worker_results(sessions: Sessions, environment_id: str) -> None:
    asset = await _from_url(sessions, environment_id)
    asset.status = "errored"
    asset.errors = {"type": "invalid_input", "messages": ["no video"]}
    asset.progress = 40.0
    wire = assets.asset_wire(asset, [], for_webhook=False)
    assert wire["errors"] == {"type": "invalid_input", "messages": ["no video"]}
    assert wire["progress"] == {"state": "errored", "progress": 40.0}
    asset.status = "ready"
    asset.duration = 12.5
    asset.tracks = [{"id": "t1", "type": "video", "max_width": 1280, "extra": 1}]
    wire = assets.asset_wire(asset, [], for_webhook=True)
    assert "errors" not in wire and wire["duration"] == 12.5
    assert wire["tracks"] == [{"id": "t1", "type": "video", "max_width": 1280}]
    assert wire["progress"] == {"state": "completed", "progress": 100.0}


async def test_cursor_pages_newest_first_and_end_with_none(
    sessions: Sessions, environment_id: str
) -> None:
    made = [
        await _from_url(sessions, environment_id, at=T0 + timedelta(seconds=i % 3))
        for i in range(7)
    ]
    expected = [a.id for a in sorted(made, key=lambda a: (a.created_at, a.id), reverse=True)]
    seen: list[str] = []
    cursor: str | None = None
    async with sessions() as s:
        while True:
            rows, cursor = await assets.list_assets(s, environment_id, limit=3, cursor=cursor)
            seen.extend(r.id for r in rows)
            if cursor is None:
                break
        assert seen == expected
        by_page: list[str] = []
        for page in (1, 2, 3):
            rows, _ = await assets.list_assets(s, environment_id, limit=3, page=page)
            by_page.extend(r.id for r in rows)
        assert by_page == expected
        assert await assets.list_assets(s, environment_id, limit=3, page=4) == ([], None)
        assert (await assets.list_assets(s, environment_id, limit=7))[1] is None
        with pytest.raises(InvalidParameters):
            await assets.list_assets(s, environment_id, limit=3, cursor="not-a-cursor")


async def test_list_by_upload(sessions: Sessions, environment_id: str) -> None:
    upload = await _upload(sessions, environment_id)
    await _from_url(sessions, environment_id)
    async with sessions.begin() as s:
        asset = await assets.create_asset_from_upload(s, upload.id, now=T0)
    assert asset is not None
    async with sessions() as s:
        rows, _ = await assets.list_assets(s, environment_id, limit=10, upload_id=upload.id)
    assert [r.id for r in rows] == [asset.id]


async def test_update_and_delete(sessions: Sessions, environment_id: str) -> None:
    asset = await _from_url(sessions, environment_id, passthrough="old", meta={"title": "a"})
    later = T0 + timedelta(seconds=5)
    async with sessions.begin() as s:
        request = UpdateAssetRequest.model_validate({"passthrough": "new"})
        updated = await assets.update_asset(s, environment_id, asset.id, request, now=later)
        assert updated.passthrough == "new" and updated.settings["meta"] == {"title": "a"}
        request = UpdateAssetRequest.model_validate({"meta": None})
        updated = await assets.update_asset(s, environment_id, asset.id, request, now=later)
        assert "meta" not in updated.settings and updated.passthrough == "new"
        await playback_ids.create_playback_id(s, environment_id, asset.id, "public", now=later)
    async with sessions.begin() as s:
        prefix = await assets.delete_asset(s, environment_id, asset.id, now=later)
    assert prefix == f"env/{environment_id}/assets/{asset.id}/"
    types = [e.type for e in await _events(sessions, asset.id)]
    assert types == [
        events.ASSET_CREATED,
        events.ASSET_UPDATED,
        events.ASSET_UPDATED,
        events.ASSET_DELETED,
    ]
    async with sessions() as s:
        with pytest.raises(NotFound):
            await assets.get_asset(s, environment_id, asset.id)
        left = await s.scalars(select(PlaybackId).where(PlaybackId.asset_id == asset.id))
        assert left.all() == []


async def test_other_environments_do_not_see_it(sessions: Sessions, environment_id: str) -> None:
    asset = await _from_url(sessions, environment_id)
    async with sessions() as s:
        with pytest.raises(NotFound):
            await assets.get_asset(s, "env_other", asset.id)
        with pytest.raises(NotFound):
            await assets.get_asset(s, environment_id, "bad id")
        assert await assets.list_assets(s, "env_other", limit=5) == ([], None)


async def test_input_info(sessions: Sessions, environment_id: str) -> None:
    asset = await _from_url(sessions, environment_id)
    async with sessions() as s:
        assert await assets.input_info(s, environment_id, asset.id) == []
    file = {"container_format": "mov,mp4", "tracks": [{"type": "video", "width": 640}]}
    async with sessions.begin() as s:
        row = await assets.get_asset(s, environment_id, asset.id)
        row.input_info = [{"file": file}]
    async with sessions() as s:
        info = await assets.input_info(s, environment_id, asset.id)
    assert info == [{"settings": {"url": URL}, "file": file}]


async def test_playback_ids(sessions: Sessions, environment_id: str) -> None:
    asset = await _from_url(sessions, environment_id)
    async with sessions.begin() as s:
        pid = await playback_ids.create_playback_id(s, environment_id, asset.id, "signed", now=T0)
        with pytest.raises(InvalidParameters):
            await playback_ids.create_playback_id(s, environment_id, asset.id, "drm", now=T0)
    assert len(pid.id) >= 22
    async with sessions() as s:
        assert (await playback_ids.lookup(s, environment_id, pid.id)).asset_id == asset.id
        with pytest.raises(NotFound):
            await playback_ids.lookup(s, "env_other", pid.id)
        resolved = await playback_ids.resolve_playback(s, pid.id)
        assert resolved is not None and resolved[1].id == asset.id
        assert await playback_ids.resolve_playback(s, "nope") is None
        assert [
            p.id for p in await playback_ids.list_playback_ids(s, environment_id, asset.id)
        ] == [pid.id]
    async with sessions.begin() as s:
        await playback_ids.delete_playback_id(s, environment_id, asset.id, pid.id)
    async with sessions() as s:
        with pytest.raises(NotFound):
            await playback_ids.get_playback_id(s, environment_id, asset.id, pid.id)
