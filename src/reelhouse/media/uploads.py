"""Direct uploads: create, read, list and cancel (scoped to an environment), plus what the ingest
hooks and the lifecycle jobs need (unscoped: there the upload URL or the job is the authority)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse import events
from reelhouse.db.models import DirectUpload, Environment
from reelhouse.errors import Forbidden, NotFound
from reelhouse.ids import RandomBytes, is_well_formed, new_id
from reelhouse.media.outbox import append_event
from reelhouse.media.tokens import VIDEO_WRITE, Principal
from reelhouse.schemas.uploads import CreateUploadRequest, Upload, UploadError
from reelhouse.states import TERMINAL_UPLOAD_STATUSES, Kind, UploadStatus, transition

Via = Literal["api", "files"]
_PURGEABLE = (UploadStatus.CANCELLED, UploadStatus.TIMED_OUT, UploadStatus.ERRORED)
assert set(_PURGEABLE) <= TERMINAL_UPLOAD_STATUSES


def upload_url(base_url: str, upload_id: str, via: str = "api") -> str:
    """The URL a client sends the bytes to: the one-time ``/upload/{id}`` for API-created
    uploads, the token-authenticated tus collection ``/files/{id}`` for ``via='files'``."""
    collection = "files" if via == "files" else "upload"
    return f"{base_url.rstrip('/')}/{collection}/{upload_id}"


def upload_view(upload: DirectUpload, base_url: str | None) -> Upload:
    """The wire Upload for a row; ``url`` only while the upload still accepts bytes and a
    ``base_url`` is given (webhook payloads carry none)."""
    error = UploadError(**upload.error) if upload.error else None
    accepting = upload.status == UploadStatus.WAITING and upload.completed_at is None
    return Upload(
        id=upload.id,
        timeout=upload.timeout,
        status=upload.status,  # the CHECK constraint keeps it in the enum
        new_asset_settings=upload.new_asset_settings,
        asset_id=upload.asset_id,
        error=error,
        cors_origin=upload.cors_origin,
        url=upload_url(base_url, upload.id, upload.via) if base_url and accepting else None,
        test=upload.test,
    )


def _event_data(upload: DirectUpload) -> dict[str, Any]:
    return upload_view(upload, None).wire()


async def create_direct_upload(
    session: AsyncSession,
    principal_or_env_id: Principal | str,
    request: CreateUploadRequest,
    *,
    now: datetime,
    base_url: str,
    via: Via = "api",
    random_bytes: RandomBytes = secrets.token_bytes,
) -> DirectUpload:
    """A new ``waiting`` upload expiring ``request.timeout`` seconds from ``now``, and its
    ``video.upload.created`` event. A Principal must hold ``video:write``. ``base_url`` is
    accepted for symmetry with the response; the URL is derived, not stored."""
    if isinstance(principal_or_env_id, Principal):
        principal_or_env_id.require(VIDEO_WRITE)
        environment_id = principal_or_env_id.environment_id
    else:
        environment_id = principal_or_env_id
    del base_url
    upload = DirectUpload(
        id=new_id(random_bytes),
        environment_id=environment_id,
        status=UploadStatus.WAITING.value,
        timeout=request.timeout,
        cors_origin=request.cors_origin,
        new_asset_settings=request.new_asset_settings.wire(),
        test=request.test,
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(seconds=request.timeout),
        via=via,
    )
    session.add(upload)
    await session.flush()
    await append_event(
        session,
        environment_id=environment_id,
        type=events.UPLOAD_CREATED,
        object_type=events.OBJECT_UPLOAD,
        object_id=upload.id,
        data=_event_data(upload),
        now=now,
    )
    return upload


async def _scoped(
    session: AsyncSession, environment_id: str, upload_id: str, *, for_update: bool = False
) -> DirectUpload:
    if not is_well_formed(upload_id):
        raise NotFound()
    query = select(DirectUpload).where(
        DirectUpload.environment_id == environment_id, DirectUpload.id == upload_id
    )
    if for_update:
        query = query.with_for_update()
    upload = await session.scalar(query.execution_options(populate_existing=True))
    if upload is None:
        raise NotFound()
    return upload


async def get_direct_upload(
    session: AsyncSession, environment_id: str, upload_id: str
) -> DirectUpload:
    """The upload ``upload_id`` of ``environment_id``; another environment's id is ``NotFound``."""
    return await _scoped(session, environment_id, upload_id)


async def list_direct_uploads(
    session: AsyncSession, environment_id: str, limit: int, page: int
) -> Sequence[DirectUpload]:
    """Page ``page`` (from 1) of ``environment_id``'s uploads, ``limit`` each, newest first;
    a page past the end is empty."""
    result = await session.scalars(
        select(DirectUpload)
        .where(DirectUpload.environment_id == environment_id)
        .order_by(DirectUpload.created_at.desc(), DirectUpload.id.desc())
        .limit(limit)
        .offset((page - 1) * limit)
    )
    return result.all()


async def cancel_direct_upload(
    session: AsyncSession, environment_id: str, upload_id: str, *, now: datetime
) -> DirectUpload:
    """Cancel a ``waiting`` upload and append ``video.upload.cancelled``. A cancelled one comes
    back unchanged; any other status is ``Forbidden`` (Mux answers 403)."""
    upload = await _scoped(session, environment_id, upload_id, for_update=True)
    if upload.status == UploadStatus.CANCELLED:
        return upload
    if upload.status != UploadStatus.WAITING:
        raise Forbidden(f"only a waiting upload can be cancelled; this one is {upload.status}")
    upload.status = transition(Kind.UPLOAD, upload.status, UploadStatus.CANCELLED)
    upload.updated_at = now
    await session.flush()
    await append_event(
        session,
        environment_id=environment_id,
        type=events.UPLOAD_CANCELLED,
        object_type=events.OBJECT_UPLOAD,
        object_id=upload.id,
        data=_event_data(upload),
        now=now,
    )
    return upload


async def environment_upload_limit(session: AsyncSession, environment_id: str) -> int | None:
    """The environment's own upload size limit, or None to use the operator's default."""
    limit: int | None = await session.scalar(
        select(Environment.max_upload_bytes).where(Environment.id == environment_id)
    )
    return limit


# --- unscoped: ingest hooks (the upload URL is the credential) and lifecycle jobs -------------


async def get_upload_by_id(session: AsyncSession, upload_id: str) -> DirectUpload | None:
    """The upload ``upload_id`` in any environment, or None (ill-formed ids included)."""
    if not is_well_formed(upload_id):
        return None
    return await session.scalar(
        select(DirectUpload)
        .where(DirectUpload.id == upload_id)
        .execution_options(populate_existing=True)
    )


async def record_upload_complete(
    session: AsyncSession,
    upload_id: str,
    *,
    size: int,
    sha256: str | None,
    filename: str | None,
    now: datetime,
) -> bool:
    """Record that every byte of ``upload_id`` arrived. True only the first time (the caller then
    creates the asset, after checking the upload is still ``waiting``); later calls change
    nothing and return False."""
    result = await session.execute(
        update(DirectUpload)
        .where(DirectUpload.id == upload_id, DirectUpload.completed_at.is_(None))
        .values(completed_at=now, updated_at=now, size=size, sha256=sha256, filename=filename)
        .returning(DirectUpload.id)
    )
    return result.scalar_one_or_none() is not None


async def expire_direct_uploads(session: AsyncSession, now: datetime) -> list[str]:
    """Move every ``waiting`` upload whose bytes never completed and whose ``expires_at`` has
    passed to ``timed_out``; return their ids (Mux has no event type for this)."""
    transition(Kind.UPLOAD, UploadStatus.WAITING, UploadStatus.TIMED_OUT)
    result = await session.execute(
        update(DirectUpload)
        .where(
            DirectUpload.status == UploadStatus.WAITING.value,
            DirectUpload.completed_at.is_(None),
            DirectUpload.expires_at <= now,
        )
        .values(status=UploadStatus.TIMED_OUT.value, updated_at=now)
        .returning(DirectUpload.id)
        .execution_options(synchronize_session=False)
    )
    return list(result.scalars().all())


async def uploads_to_purge(
    session: AsyncSession, now: datetime, grace: timedelta, *, limit: int = 500
) -> list[str]:
    """Ids of cancelled, timed-out or errored uploads, in that state for at least ``grace`` and
    not yet purged: their bytes may be deleted."""
    result = await session.scalars(
        select(DirectUpload.id)
        .where(
            DirectUpload.status.in_([s.value for s in _PURGEABLE]),
            DirectUpload.purged_at.is_(None),
            DirectUpload.updated_at <= now - grace,
        )
        .order_by(DirectUpload.updated_at)
        .limit(limit)
    )
    return list(result.all())


async def mark_purged(session: AsyncSession, upload_ids: Sequence[str], *, now: datetime) -> None:
    """Record that the bytes of ``upload_ids`` are gone (idempotent)."""
    if not upload_ids:
        return
    await session.execute(
        update(DirectUpload)
        .where(DirectUpload.id.in_(list(upload_ids)), DirectUpload.purged_at.is_(None))
        .values(purged_at=now)
        .execution_options(synchronize_session=False)
    )
