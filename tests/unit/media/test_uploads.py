"""Direct-upload use cases: creation with its event, environment scoping, cancel, completion,
expiry and purging."""

from __future__ import annotations

import itertools
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse import events
from reelhouse.db.models import DirectUpload, OutboxEvent
from reelhouse.errors import Forbidden, NotFound
from reelhouse.ids import new_id
from reelhouse.media import uploads
from reelhouse.media.tokens import VIDEO_READ, Principal
from reelhouse.schemas.uploads import CreateUploadRequest

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BASE = "https://video.example"
Sessions = async_sessionmaker[AsyncSession]


async def _create(
    sessions: Sessions, env: str, *, at: datetime = T0, **fields: object
) -> DirectUpload:
    request = CreateUploadRequest.model_validate(fields)
    async with sessions.begin() as s:
        return await uploads.create_direct_upload(s, env, request, now=at, base_url=BASE)


async def _events(sessions: Sessions, object_id: str) -> list[OutboxEvent]:
    async with sessions() as s:
        rows = await s.scalars(
            select(OutboxEvent).where(OutboxEvent.object_id == object_id).order_by(OutboxEvent.seq)
        )
        return list(rows.all())


async def test_create_writes_the_upload_and_its_event(
    sessions: Sessions, environment_id: str
) -> None:
    upload = await _create(
        sessions,
        environment_id,
        cors_origin="*",
        timeout=120,
        new_asset_settings={"playback_policies": ["public"]},
    )
    assert upload.status == "waiting"
    assert upload.expires_at == T0 + timedelta(seconds=120)
    assert len(upload.id) >= 22
    view = uploads.upload_view(upload, BASE).wire()
    assert view["url"] == f"{BASE}/upload/{upload.id}"
    assert view["new_asset_settings"] == {"playback_policies": ["public"]}
    assert "asset_id" not in view and "error" not in view
    [event] = await _events(sessions, upload.id)
    assert event.type == events.UPLOAD_CREATED
    assert event.environment_id == environment_id
    assert event.object_type == "upload"
    assert event.data["status"] == "waiting" and "url" not in event.data


async def test_random_source_makes_the_id(sessions: Sessions, environment_id: str) -> None:
    counter = itertools.count(1)

    def fake_random(n: int) -> bytes:
        return bytes([next(counter) % 256]) * n

    request = CreateUploadRequest()
    async with sessions.begin() as s:
        first = await uploads.create_direct_upload(
            s, environment_id, request, now=T0, base_url=BASE, random_bytes=fake_random
        )
    assert first.id == new_id(lambda n: b"\x01" * n)


async def test_event_rolls_back_with_the_upload(sessions: Sessions, environment_id: str) -> None:
    async with sessions() as s:
        upload = await uploads.create_direct_upload(
            s, environment_id, CreateUploadRequest(), now=T0, base_url=BASE
        )
        upload_id = upload.id
        await s.rollback()
    assert await _events(sessions, upload_id) == []
    async with sessions() as s:
        assert await uploads.get_upload_by_id(s, upload_id) is None


async def test_principal_needs_video_write(sessions: Sessions, environment_id: str) -> None:
    reader = Principal(environment_id, "tok", frozenset({VIDEO_READ}))
    async with sessions.begin() as s:
        with pytest.raises(Forbidden):
            await uploads.create_direct_upload(
                s, reader, CreateUploadRequest(), now=T0, base_url=BASE
            )


async def test_another_environments_upload_is_not_found(
    sessions: Sessions, environment_id: str
) -> None:
    upload = await _create(sessions, environment_id)
    async with sessions.begin() as s:
        with pytest.raises(NotFound):
            await uploads.get_direct_upload(s, "another-env", upload.id)
        with pytest.raises(NotFound):
            await uploads.cancel_direct_upload(s, "another-env", upload.id, now=T0)
        assert await uploads.list_direct_uploads(s, "another-env", 25, 1) == []
        found = await uploads.get_direct_upload(s, environment_id, upload.id)
    assert found.id == upload.id


@pytest.mark.parametrize("bad_id", ["short", "../../etc/passwd", "x" * 65])
async def test_ill_formed_ids_are_not_found(
    sessions: Sessions, environment_id: str, bad_id: str
) -> None:
    async with sessions() as s:
        with pytest.raises(NotFound):
            await uploads.get_direct_upload(s, environment_id, bad_id)
        assert await uploads.get_upload_by_id(s, bad_id) is None


async def test_list_is_newest_first_and_paged(sessions: Sessions, environment_id: str) -> None:
    made = [
        (await _create(sessions, environment_id, at=T0 + timedelta(seconds=i))).id for i in range(5)
    ]
    async with sessions() as s:
        pages = [
            [u.id for u in await uploads.list_direct_uploads(s, environment_id, 2, page)]
            for page in (1, 2, 3, 4)
        ]
    assert pages == [made[4:2:-1], made[2:0:-1], made[0:1], []]


async def test_cancel_waiting_then_again(sessions: Sessions, environment_id: str) -> None:
    upload = await _create(sessions, environment_id)
    later = T0 + timedelta(seconds=5)
    async with sessions.begin() as s:
        cancelled = await uploads.cancel_direct_upload(s, environment_id, upload.id, now=later)
    async with sessions.begin() as s:
        again = await uploads.cancel_direct_upload(s, environment_id, upload.id, now=later)
    assert cancelled.status == again.status == "cancelled"
    kinds = [e.type for e in await _events(sessions, upload.id)]
    assert kinds == [events.UPLOAD_CREATED, events.UPLOAD_CANCELLED]
    assert "url" not in uploads.upload_view(again, BASE).wire()


async def test_cancel_a_timed_out_upload_is_forbidden(
    sessions: Sessions, environment_id: str
) -> None:
    upload = await _create(sessions, environment_id, timeout=60)
    async with sessions.begin() as s:
        await uploads.expire_direct_uploads(s, T0 + timedelta(seconds=60))
    async with sessions.begin() as s:
        with pytest.raises(Forbidden, match="timed_out"):
            await uploads.cancel_direct_upload(s, environment_id, upload.id, now=T0)


async def test_record_complete_is_true_only_once(sessions: Sessions, environment_id: str) -> None:
    upload = await _create(sessions, environment_id)
    results = []
    for _ in range(2):
        async with sessions.begin() as s:
            results.append(
                await uploads.record_upload_complete(
                    s, upload.id, size=10, sha256="ab" * 32, filename="a.mp4", now=T0
                )
            )
    assert results == [True, False]
    async with sessions() as s:
        row = await uploads.get_upload_by_id(s, upload.id)
    assert row is not None and row.completed_at == T0 and row.size == 10
    assert "url" not in uploads.upload_view(row, BASE).wire()


async def test_expire_times_out_only_overdue_incomplete_uploads(
    sessions: Sessions, environment_id: str
) -> None:
    overdue = await _create(sessions, environment_id, timeout=60)
    completed = await _create(sessions, environment_id, timeout=60)
    fresh = await _create(sessions, environment_id, timeout=3600)
    async with sessions.begin() as s:
        await uploads.record_upload_complete(
            s, completed.id, size=1, sha256=None, filename=None, now=T0
        )
    at = T0 + timedelta(seconds=61)
    async with sessions.begin() as s:
        expired = await uploads.expire_direct_uploads(s, at)
    async with sessions.begin() as s:
        assert not set(await uploads.expire_direct_uploads(s, at)) & {overdue.id}
    assert overdue.id in expired
    assert completed.id not in expired and fresh.id not in expired
    async with sessions() as s:
        row = await uploads.get_direct_upload(s, environment_id, overdue.id)
    assert row.status == "timed_out"


async def test_purge_after_grace_then_marked(sessions: Sessions, environment_id: str) -> None:
    # Far in the future so other tests' terminal uploads are also due; only ours are asserted.
    at = T0 + timedelta(days=3650 + secrets.randbelow(1000))
    upload = await _create(sessions, environment_id, at=at)
    waiting = await _create(sessions, environment_id, at=at)
    async with sessions.begin() as s:
        await uploads.cancel_direct_upload(s, environment_id, upload.id, now=at)
    grace = timedelta(hours=1)
    async with sessions() as s:
        assert upload.id not in await uploads.uploads_to_purge(s, at, grace)
        due = await uploads.uploads_to_purge(s, at + grace, grace, limit=100_000)
    assert upload.id in due and waiting.id not in due
    async with sessions.begin() as s:
        await uploads.mark_purged(s, [upload.id], now=at + grace)
    async with sessions() as s:
        assert upload.id not in await uploads.uploads_to_purge(s, at + grace, grace, limit=100_000)


async def test_environment_upload_limit(sessions: Sessions, environment_id: str) -> None:
    async with sessions() as s:
        assert await uploads.environment_upload_limit(s, environment_id) is None
