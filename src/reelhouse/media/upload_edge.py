"""The upload edge's use cases: what the ingest hooks read and write, behind one protocol.

:class:`UploadRecords` is everything the hooks of ``/upload/{id}`` and ``/files/`` need from the
database: look a direct upload up, read an environment's size limit, authenticate an access
token, create the direct upload behind a ``/files/`` upload, record a finished upload, cancel one.
Two implementations keep the same rules:

- :class:`reelhouse.media.upload_records.SessionRecords` runs the SQLAlchemy use cases and creates
  the asset in the same transaction that records the last byte (the all-in-one web process);
- :class:`PgRecords` here speaks plain SQL over a psycopg pool, for the lean upload node
  (``reelhouse serve --uploads-only``), which loads neither SQLAlchemy nor FastAPI nor the API
  schemas.
  A finished upload is recorded together with a ``reelhouse.create_upload_asset`` job, in one
  transaction; a worker creates the asset with the same use case the web process runs.

Both write the same rows and the same outbox events (``upload_event_data`` builds the payload the
pydantic view builds; a test holds them equal).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

from psycopg import AsyncConnection
from psycopg import errors as pg_errors
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from reelhouse import events, ids
from reelhouse.errors import Unauthorized
from reelhouse.media.principals import (
    LAST_USED_RESOLUTION,
    Principal,
    parse_authorization,
    secret_matches,
)
from reelhouse.states import Kind, UploadStatus, transition

CREATE_ASSET_TASK: Final = "reelhouse.create_upload_asset"


@dataclass(frozen=True)
class UploadRow:
    """What the hooks need to know about a direct upload."""

    id: str
    environment_id: str
    status: str
    cors_origin: str | None
    expires_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True)
class Finished:
    """What recording a finished upload did: ``first`` is True only the first time;
    ``asset_id`` is the asset when it was created right away."""

    first: bool
    asset_id: str | None = None


class UploadRecords(Protocol):
    async def upload(self, upload_id: str) -> UploadRow | None:
        """The direct upload ``upload_id`` in any environment (its URL is the credential)."""
        ...

    async def upload_limit(self, environment_id: str) -> int | None:
        """The environment's own upload size limit; None: the operator's default."""
        ...

    async def authenticate(self, authorization: str | None, now: datetime) -> Principal:
        """The caller of an Authorization header value, else ``Unauthorized``."""
        ...

    async def create_files_upload(
        self, environment_id: str, *, cors_origin: str, timeout: int, now: datetime
    ) -> UploadRow:
        """A ``waiting`` direct upload made through ``/files/``, and its created event."""
        ...

    async def finish(
        self, upload_id: str, *, size: int, sha256: str, filename: str | None, now: datetime
    ) -> Finished:
        """Record that every byte arrived and get the asset made (idempotent)."""
        ...

    async def cancel(self, environment_id: str, upload_id: str, *, now: datetime) -> bool:
        """Cancel a waiting upload (with its event); False when it is in another state."""
        ...


def upload_event_data(row: Mapping[str, Any]) -> dict[str, Any]:
    """The ``data`` of an upload event for a ``direct_uploads`` row: Mux's Upload object without
    ``url``, and without ``asset_id``/``error`` while they are None."""
    data: dict[str, Any] = {
        "id": row["id"],
        "timeout": row["timeout"],
        "status": row["status"],
        "new_asset_settings": row["new_asset_settings"],
    }
    if row["asset_id"] is not None:
        data["asset_id"] = row["asset_id"]
    if row["error"] is not None:
        data["error"] = {"type": row["error"]["type"], "message": row["error"]["message"]}
    data["cors_origin"] = row["cors_origin"]
    data["test"] = row["test"]
    return data


_UPLOAD_COLUMNS = "id, environment_id, status, cors_origin, expires_at, completed_at"
_EVENT_COLUMNS = "id, timeout, status, new_asset_settings, asset_id, error, cors_origin, test"
_DEFER = (
    "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW("
    "%(queue)s, %(task)s, 0, NULL, %(queueing_lock)s, %(args)s::jsonb, NULL"
    ")::procrastinate_job_to_defer_v1]))"
)
Conn = AsyncConnection[dict[str, Any]]


def _row(values: Mapping[str, Any]) -> UploadRow:
    return UploadRow(**{key: values[key] for key in UploadRow.__dataclass_fields__})


class PgRecords:
    """:class:`UploadRecords` in plain SQL on a psycopg pool (open it with :meth:`open`)."""

    def __init__(self, conninfo: str, *, max_size: int = 4) -> None:
        self.pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
            conninfo,
            min_size=1,
            max_size=max_size,
            kwargs={"row_factory": dict_row},
            open=False,
            name="upload-records",
        )

    async def open(self) -> None:
        await self.pool.open(wait=True)

    async def close(self) -> None:
        await self.pool.close()

    async def upload(self, upload_id: str) -> UploadRow | None:
        if not ids.is_well_formed(upload_id):
            return None
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                f"SELECT {_UPLOAD_COLUMNS} FROM direct_uploads WHERE id = %s", (upload_id,)
            )
            found = await cursor.fetchone()
        return _row(found) if found else None

    async def upload_limit(self, environment_id: str) -> int | None:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT max_upload_bytes FROM environments WHERE id = %s", (environment_id,)
            )
            found = await cursor.fetchone()
        return None if found is None else found["max_upload_bytes"]

    async def authenticate(self, authorization: str | None, now: datetime) -> Principal:
        token_id, secret = parse_authorization(authorization)
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT id, environment_id, secret_hash, permissions, last_used_at, revoked_at "
                "FROM access_tokens WHERE id = %s",
                (token_id,),
            )
            token = await cursor.fetchone()
            stored = token["secret_hash"] if token else None
            revoked = token is not None and token["revoked_at"] is not None
            if token is None or not secret_matches(secret, stored, revoked=revoked):
                raise Unauthorized()
            last_used = token["last_used_at"]
            if last_used is None or now - last_used >= LAST_USED_RESOLUTION:
                await conn.execute(
                    "UPDATE access_tokens SET last_used_at = %s WHERE id = %s", (now, token_id)
                )
        return Principal(
            environment_id=token["environment_id"],
            token_id=token["id"],
            permissions=frozenset(token["permissions"]),
        )

    async def create_files_upload(
        self, environment_id: str, *, cors_origin: str, timeout: int, now: datetime
    ) -> UploadRow:
        async with self.pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(
                "INSERT INTO direct_uploads (id, environment_id, status, timeout, cors_origin,"
                " new_asset_settings, test, created_at, updated_at, expires_at, via)"
                " VALUES (%s, %s, %s, %s, %s, %s, false, %s, %s, %s, 'files')"
                f" RETURNING {_UPLOAD_COLUMNS}, {_EVENT_COLUMNS}",
                (
                    ids.new_id(),
                    environment_id,
                    UploadStatus.WAITING.value,
                    timeout,
                    cors_origin,
                    Jsonb({}),
                    now,
                    now,
                    now + timedelta(seconds=timeout),
                ),
            )
            created = await cursor.fetchone()
            assert created is not None  # INSERT ... RETURNING gives its row
            await _append_event(conn, environment_id, created, events.UPLOAD_CREATED, now)
        return _row(created)

    async def finish(
        self, upload_id: str, *, size: int, sha256: str, filename: str | None, now: datetime
    ) -> Finished:
        async with self.pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(
                "UPDATE direct_uploads SET completed_at = %s, updated_at = %s, size = %s,"
                " sha256 = %s, filename = %s WHERE id = %s AND completed_at IS NULL RETURNING id",
                (now, now, size, sha256, filename, upload_id),
            )
            if await cursor.fetchone() is None:
                return Finished(first=False)
            await _defer(
                conn, CREATE_ASSET_TASK, {"upload_id": upload_id}, f"asset-from:{upload_id}"
            )
        return Finished(first=True)

    async def cancel(self, environment_id: str, upload_id: str, *, now: datetime) -> bool:
        async with self.pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(
                f"SELECT {_EVENT_COLUMNS} FROM direct_uploads"
                " WHERE id = %s AND environment_id = %s FOR UPDATE",
                (upload_id, environment_id),
            )
            upload = await cursor.fetchone()
            if upload is None or upload["status"] not in (
                UploadStatus.WAITING,
                UploadStatus.CANCELLED,
            ):
                return False
            if upload["status"] == UploadStatus.CANCELLED:
                return True
            status = transition(Kind.UPLOAD, upload["status"], UploadStatus.CANCELLED)
            await conn.execute(
                "UPDATE direct_uploads SET status = %s, updated_at = %s WHERE id = %s",
                (status, now, upload_id),
            )
            cancelled = {**upload, "status": status}
            await _append_event(conn, environment_id, cancelled, events.UPLOAD_CANCELLED, now)
        return True


async def _append_event(
    conn: Conn, environment_id: str, upload: Mapping[str, Any], type: str, now: datetime
) -> None:
    """One outbox event in ``conn``'s transaction, and a dispatch asked for when it commits (one
    waiting dispatch is enough), as ``reelhouse.media.outbox.append_event`` does."""
    await conn.execute(
        "INSERT INTO outbox_events (id, environment_id, type, object_type, object_id, data,"
        " created_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (
            uuid.uuid4(),
            environment_id,
            type,
            events.OBJECT_UPLOAD,
            upload["id"],
            Jsonb(upload_event_data(upload)),
            now,
        ),
    )
    await _defer(conn, events.DISPATCH_TASK, {"timestamp": 0}, events.DISPATCH_TASK)


async def _defer(conn: Conn, task: str, args: dict[str, Any], queueing_lock: str) -> bool:
    """Write one job in ``conn``'s transaction (Procrastinate's own SQL function); False when a
    job with the same queueing lock already waits. A savepoint keeps the transaction usable."""
    params = {
        "queue": "default",
        "task": task,
        "queueing_lock": queueing_lock,
        "args": json.dumps(args),
    }
    try:
        async with conn.transaction():
            await conn.execute(_DEFER, params)
    except pg_errors.UniqueViolation:
        return False
    return True
