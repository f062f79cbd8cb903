"""The upload edge's use cases on SQLAlchemy sessions (the all-in-one web process).

Satisfies :class:`reelhouse.media.upload_edge.UploadRecords` with the same use cases the REST API
runs; a finished upload gets its asset in the transaction that records its last byte.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse import errors
from reelhouse.db.models import DirectUpload
from reelhouse.media import assets as media_assets
from reelhouse.media import uploads as direct_uploads
from reelhouse.media.principals import Principal, parse_authorization
from reelhouse.media.tokens import authenticate
from reelhouse.media.upload_edge import Finished, UploadRow
from reelhouse.schemas.uploads import CreateUploadRequest


def _row(upload: DirectUpload) -> UploadRow:
    return UploadRow(
        id=upload.id,
        environment_id=upload.environment_id,
        status=upload.status,
        cors_origin=upload.cors_origin,
        expires_at=upload.expires_at,
        completed_at=upload.completed_at,
    )


class SessionRecords:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def upload(self, upload_id: str) -> UploadRow | None:
        async with self.sessions() as session:
            upload = await direct_uploads.get_upload_by_id(session, upload_id)
        return _row(upload) if upload is not None else None

    async def upload_limit(self, environment_id: str) -> int | None:
        async with self.sessions() as session:
            return await direct_uploads.environment_upload_limit(session, environment_id)

    async def authenticate(self, authorization: str | None, now: datetime) -> Principal:
        token_id, secret = parse_authorization(authorization)
        async with self.sessions.begin() as session:
            return await authenticate(session, token_id, secret, now=now)

    async def create_files_upload(
        self, environment_id: str, *, cors_origin: str, timeout: int, now: datetime
    ) -> UploadRow:
        request = CreateUploadRequest(cors_origin=cors_origin, timeout=timeout)
        async with self.sessions.begin() as session:
            upload = await direct_uploads.create_direct_upload(
                session, environment_id, request, now=now, base_url="", via="files"
            )
            return _row(upload)

    async def finish(
        self, upload_id: str, *, size: int, sha256: str, filename: str | None, now: datetime
    ) -> Finished:
        # One transaction: a crash leaves either nothing (the client's retry of the last chunk
        # finishes again) or a complete upload with its asset, job and events.
        async with self.sessions.begin() as session:
            first = await direct_uploads.record_upload_complete(
                session, upload_id, size=size, sha256=sha256, filename=filename, now=now
            )
            asset = await media_assets.create_asset_from_upload(session, upload_id, now=now)
        return Finished(first=first, asset_id=asset.id if asset is not None else None)

    async def cancel(self, environment_id: str, upload_id: str, *, now: datetime) -> bool:
        async with self.sessions.begin() as session:
            try:
                await direct_uploads.cancel_direct_upload(
                    session, environment_id, upload_id, now=now
                )
            except errors.ReelhouseError:
                return False
        return True
