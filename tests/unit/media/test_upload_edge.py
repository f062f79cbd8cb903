"""The upload edge's records: the SQLAlchemy use cases (web process) and plain SQL (the lean
upload node) keep the same rules, write the same rows and the same events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse import errors
from reelhouse.db.engine import libpq_url
from reelhouse.db.models import AccessToken, Asset, DirectUpload, Environment, OutboxEvent
from reelhouse.media import tokens, uploads
from reelhouse.media.upload_edge import (
    CREATE_ASSET_TASK,
    PgRecords,
    UploadRecords,
    upload_event_data,
)
from reelhouse.media.upload_records import SessionRecords
from reelhouse.schemas.uploads import CreateUploadRequest
from reelhouse.worker.main import WorkerDeps, create_upload_asset_once

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture(params=["session", "pg"])
async def records(
    request: pytest.FixtureRequest, sessions: Sessions, database_url: str
) -> AsyncIterator[UploadRecords]:
    if request.param == "session":
        yield SessionRecords(sessions)
        return
    pg = PgRecords(libpq_url(database_url))
    await pg.open()
    try:
        yield pg
    finally:
        await pg.close()


async def _waiting(sessions: Sessions, environment_id: str, **body: Any) -> DirectUpload:
    request = CreateUploadRequest.model_validate({"cors_origin": "https://a.example", **body})
    async with sessions.begin() as s:
        return await uploads.create_direct_upload(s, environment_id, request, now=T0, base_url="")


async def _events(sessions: Sessions, upload_id: str) -> list[OutboxEvent]:
    async with sessions() as s:
        found = await s.scalars(
            select(OutboxEvent).where(OutboxEvent.object_id == upload_id).order_by(OutboxEvent.seq)
        )
        return list(found.all())


async def _jobs(sessions: Sessions, task: str, args: dict[str, Any]) -> int:
    async with sessions() as s:
        count = await s.scalar(
            text(
                "SELECT count(*) FROM procrastinate_jobs WHERE task_name = :task"
                " AND args @> CAST(:args AS jsonb) AND status = 'todo'"
            ),
            {"task": task, "args": json.dumps(args)},
        )
    return int(count or 0)


async def test_looks_uploads_up_in_any_environment(
    records: UploadRecords, sessions: Sessions, environment_id: str
) -> None:
    upload = await _waiting(sessions, environment_id)
    row = await records.upload(upload.id)
    assert row is not None
    assert (row.id, row.environment_id, row.status) == (upload.id, environment_id, "waiting")
    assert row.cors_origin == "https://a.example"
    assert row.expires_at == T0 + timedelta(seconds=3600) and row.completed_at is None
    assert await records.upload("0" * 28) is None
    assert await records.upload("../etc/passwd") is None


async def test_reads_the_environment_limit(
    records: UploadRecords, sessions: Sessions, environment_id: str
) -> None:
    assert await records.upload_limit(environment_id) is None
    async with sessions.begin() as s:
        await s.execute(
            update(Environment).where(Environment.id == environment_id).values(max_upload_bytes=77)
        )
    assert await records.upload_limit(environment_id) == 77
    assert await records.upload_limit("no-such-environment") is None


async def test_authenticates_like_the_api(
    records: UploadRecords, sessions: Sessions, environment_id: str
) -> None:
    async with sessions.begin() as s:
        token, secret = await tokens.create_token(s, environment_id, "t", ["video:write"], now=T0)
    later = T0 + timedelta(minutes=5)
    principal = await records.authenticate(f"Bearer {token.id}:{secret}", later)
    assert principal.environment_id == environment_id and principal.token_id == token.id
    assert principal.permissions == frozenset({"video:write"})
    async with sessions() as s:
        assert (
            await s.scalar(select(AccessToken.last_used_at).where(AccessToken.id == token.id))
            == later
        )
    for header in (None, "", "Basic !!", f"Bearer {token.id}:wrong", f"Bearer nosuch:{secret}"):
        with pytest.raises(errors.Unauthorized):
            await records.authenticate(header, later)
    async with sessions.begin() as s:
        await tokens.revoke_token(s, environment_id, token.id, now=later)
    with pytest.raises(errors.Unauthorized):
        await records.authenticate(f"Bearer {token.id}:{secret}", later)


async def test_a_files_upload_is_a_direct_upload_with_its_event(
    records: UploadRecords, sessions: Sessions, environment_id: str
) -> None:
    row = await records.create_files_upload(environment_id, cors_origin="*", timeout=120, now=T0)
    assert row.status == "waiting" and row.expires_at == T0 + timedelta(seconds=120)
    async with sessions() as s:
        stored = await uploads.get_direct_upload(s, environment_id, row.id)
        assert stored.via == "files" and stored.new_asset_settings == {} and stored.test is False
        assert stored.created_at == T0 and stored.timeout == 120
        view = uploads.upload_view(stored, None).wire()
    [event] = await _events(sessions, row.id)
    assert (event.type, event.object_type, event.environment_id) == (
        "video.upload.created",
        "upload",
        environment_id,
    )
    assert event.data == view
    assert await _jobs(sessions, "reelhouse.dispatch_outbox", {}) >= 1


async def test_finish_records_once_and_the_asset_follows(
    records: UploadRecords, sessions: Sessions, environment_id: str
) -> None:
    upload = await _waiting(sessions, environment_id)
    first = await records.finish(upload.id, size=5, sha256="ab", filename="a.mp4", now=T0)
    again = await records.finish(upload.id, size=5, sha256="ab", filename="a.mp4", now=T0)
    assert first.first and not again.first
    if isinstance(records, PgRecords):
        # The node records the last byte with a job; the worker makes the asset.
        assert first.asset_id is None
        assert await _jobs(sessions, CREATE_ASSET_TASK, {"upload_id": upload.id}) == 1
        deps = WorkerDeps(sessions=sessions, clock=lambda: T0, delete_upload_bytes=_nothing)
        asset_id = await create_upload_asset_once(deps, upload.id)
        assert await create_upload_asset_once(deps, upload.id) is None
    else:
        asset_id = first.asset_id
    async with sessions() as s:
        row = await uploads.get_direct_upload(s, environment_id, upload.id)
        count = await s.scalar(select(func.count()).where(Asset.upload_id == upload.id))
    assert asset_id is not None and row.asset_id == asset_id and count == 1
    assert row.status == "asset_created" and row.completed_at == T0
    assert (row.size, row.sha256, row.filename) == (5, "ab", "a.mp4")


async def _nothing(upload_id: str) -> None:
    return None


async def test_cancel_moves_a_waiting_upload_once(
    records: UploadRecords, sessions: Sessions, environment_id: str
) -> None:
    upload = await _waiting(sessions, environment_id)
    assert not await records.cancel("another-environment", upload.id, now=T0)
    assert await records.cancel(environment_id, upload.id, now=T0)
    assert await records.cancel(environment_id, upload.id, now=T0)
    async with sessions() as s:
        row = await uploads.get_direct_upload(s, environment_id, upload.id)
        view = uploads.upload_view(row, None).wire()
    assert row.status == "cancelled"
    _created, cancelled = await _events(sessions, upload.id)
    assert cancelled.type == "video.upload.cancelled" and cancelled.data == view
    finished = await _waiting(sessions, environment_id)
    await SessionRecords(sessions).finish(finished.id, size=1, sha256="", filename=None, now=T0)
    assert not await records.cancel(environment_id, finished.id, now=T0)


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"asset_id": "a" * 28, "status": "asset_created"},
        {"error": {"type": "invalid", "message": "bad file"}, "status": "errored"},
        {"cors_origin": None, "test": True},
    ],
)
def test_event_data_matches_the_wire_view(changes: dict[str, Any]) -> None:
    row: dict[str, Any] = {
        "id": "u" * 28,
        "timeout": 3600,
        "status": "waiting",
        "new_asset_settings": {"playback_policies": ["public"]},
        "asset_id": None,
        "error": None,
        "cors_origin": "*",
        "test": False,
        **changes,
    }
    model = DirectUpload(**row, via="api")
    assert upload_event_data(row) == uploads.upload_view(model, None).wire()
    assert list(upload_event_data(row)) == list(uploads.upload_view(model, None).wire())
