"""How the ingest protocols reach the application: direct uploads and the ``/files/`` collection.

A direct-upload URL is its own credential: its hooks look the upload up by id, with no
environment scope, and refuse bytes once it is cancelled, timed out or already complete.
``/files/`` needs an access token on every request; each upload created there is also a direct
upload of the token's environment (partial uploads for concatenation are not: only the final
upload is a video).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from starlette.requests import Request

from reelhouse import errors, ids
from reelhouse.ingest.errors import (
    Conflict,
    HookRejected,
    IngestError,
    UploadGone,
    UploadNotFound,
)
from reelhouse.ingest.info import UploadInfo
from reelhouse.ingest.protocols import CreateDecision, CreateRequest
from reelhouse.logs import get_logger
from reelhouse.media.principals import VIDEO_WRITE, Principal
from reelhouse.media.upload_edge import UploadRecords, UploadRow
from reelhouse.metrics import Metrics

log = get_logger("reelhouse.uploads")


@dataclass(frozen=True)
class HookDeps:
    records: UploadRecords
    metrics: Metrics
    clock: Callable[[], datetime]
    default_max_bytes: int
    files_cors_origin: str
    files_timeout: int


PRINCIPAL_TTL = 5.0


class PrincipalCache:
    """Authenticated callers by Authorization header (hashed), each kept for ``ttl`` seconds."""

    def __init__(self, ttl: float, capacity: int = 1024) -> None:
        self._ttl = ttl
        self._capacity = capacity
        self._entries: dict[str, tuple[float, Principal]] = {}

    @staticmethod
    def _key(header: str) -> str:
        return hashlib.sha256(header.encode()).hexdigest()

    def get(self, header: str) -> Principal | None:
        entry = self._entries.get(self._key(header))
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, header: str, principal: Principal) -> None:
        if len(self._entries) >= self._capacity:
            self._entries.clear()
        self._entries[self._key(header)] = (time.monotonic() + self._ttl, principal)


class _CommonHooks:
    def __init__(self, deps: HookDeps) -> None:
        self.deps = deps

    async def on_received(self, info: UploadInfo, received: int) -> None:
        self.deps.metrics.upload_bytes.inc(received)

    async def on_rejected(self, request: Request, target: str | None, error: IngestError) -> None:
        self.deps.metrics.uploads_failed.labels(reason=error.code).inc()
        if error.status >= 500:
            log.warning("upload.refused", reason=error.code, status=error.status)

    async def on_finish(self, info: UploadInfo) -> None:
        upload_id = info.owner.get("direct_upload_id")
        if not upload_id:
            return
        finished = await self.deps.records.finish(
            upload_id,
            size=info.offset,
            sha256=info.sha256 or "",
            filename=info.metadata.get("filename") or info.metadata.get("name"),
            now=self.deps.clock(),
        )
        if finished.first:
            self.deps.metrics.uploads_completed.inc()
            log.info("upload.finished", upload_id=upload_id, bytes=info.offset, sha256=info.sha256)
        if finished.asset_id is not None:
            log.info("asset.created", asset_id=finished.asset_id, upload_id=upload_id)

    async def on_terminate(self, info: UploadInfo) -> None:
        upload_id = info.owner.get("direct_upload_id")
        environment_id = info.owner.get("environment_id")
        if not upload_id or not environment_id:
            return
        if not await self.deps.records.cancel(environment_id, upload_id, now=self.deps.clock()):
            return
        log.info("upload.terminated", upload_id=upload_id)

    async def _limit_for(self, request: Request, environment_id: str) -> int:
        """The environment's upload size limit, looked up once per request."""
        cached: int | None = getattr(request.state, "reelhouse_limit", None)
        if cached is not None:
            return cached
        limit = await self.deps.records.upload_limit(environment_id)
        request.state.reelhouse_limit = limit or self.deps.default_max_bytes
        return int(request.state.reelhouse_limit)


class DirectUploadHooks(_CommonHooks):
    """Hooks for ``/upload/{target}``: the target is a direct upload's id."""

    async def _upload(self, request: Request, target: str | None) -> UploadRow:
        """The direct upload, read once per request (the hooks ask for it several times)."""
        if target is None or not ids.is_well_formed(target):
            raise UploadNotFound()
        cached: UploadRow | None = getattr(request.state, "reelhouse_upload", None)
        if cached is not None and cached.id == target:
            return cached
        upload = await self.deps.records.upload(target)
        if upload is None:
            raise UploadNotFound()
        request.state.reelhouse_upload = upload
        return upload

    def _refuse_if_closed(self, upload: UploadRow) -> None:
        if upload.status == "cancelled":
            raise UploadGone("This upload was cancelled; create a new upload.")
        expired = upload.expires_at <= self.deps.clock() and upload.completed_at is None
        if upload.status == "timed_out" or expired:
            raise UploadGone("This upload URL timed out; create a new upload.")
        if upload.status == "errored":
            raise UploadGone("This upload failed; create a new upload.")

    async def max_size(self, request: Request, target: str | None) -> int | None:
        upload = await self._upload(request, target)
        return await self._limit_for(request, upload.environment_id)

    async def cors_origin(self, request: Request, target: str | None) -> str | None:
        try:
            upload = await self._upload(request, target)
        except UploadNotFound:
            return None
        return upload.cors_origin

    async def pre_create(self, create: CreateRequest) -> CreateDecision:
        upload = await self._upload(create.request, create.target)
        self._refuse_if_closed(upload)
        if upload.completed_at is not None:
            raise Conflict("This upload URL has already received its file.")
        owner = {"environment_id": upload.environment_id, "direct_upload_id": upload.id}
        if create.partial:
            owner = {"environment_id": upload.environment_id, "direct_upload_target": upload.id}
            return CreateDecision(ids.new_id(), owner, upload.expires_at)
        self.deps.metrics.uploads_created.labels(via="direct").inc()
        return CreateDecision(upload.id, owner, upload.expires_at)

    async def authorize(self, request: Request, target: str | None, info: UploadInfo) -> None:
        owned_by = info.owner.get("direct_upload_id") or info.owner.get("direct_upload_target")
        if owned_by != target:
            raise UploadNotFound()
        upload = await self._upload(request, target)
        if upload.completed_at is None:
            self._refuse_if_closed(upload)


class FilesHooks(_CommonHooks):
    """Hooks for the ``/files/`` tus collection: an access token on every request."""

    def __init__(self, deps: HookDeps) -> None:
        super().__init__(deps)
        self._principals = PrincipalCache(PRINCIPAL_TTL)

    async def _principal(self, request: Request) -> Principal:
        """The caller, authenticated once per request and remembered for a few seconds per
        Authorization header (a revoked token stops working within ``PRINCIPAL_TTL``)."""
        header = request.headers.get("authorization", "")
        principal = self._principals.get(header)
        if principal is None:
            try:
                principal = await self.deps.records.authenticate(header or None, self.deps.clock())
            except errors.Unauthorized as exc:
                raise HookRejected(401, "unauthorized", exc.message) from exc
            self._principals.put(header, principal)
        try:
            principal.require(VIDEO_WRITE)
        except errors.Forbidden as exc:
            raise HookRejected(403, "forbidden", exc.message) from exc
        return principal

    async def max_size(self, request: Request, target: str | None) -> int | None:
        principal = await self._principal(request)
        return await self._limit_for(request, principal.environment_id)

    async def cors_origin(self, request: Request, target: str | None) -> str | None:
        return self.deps.files_cors_origin

    async def pre_create(self, create: CreateRequest) -> CreateDecision:
        principal = await self._principal(create.request)
        if create.partial:
            return CreateDecision(ids.new_id(), {"environment_id": principal.environment_id})
        upload = await self.deps.records.create_files_upload(
            principal.environment_id,
            cors_origin=self.deps.files_cors_origin,
            timeout=self.deps.files_timeout,
            now=self.deps.clock(),
        )
        self.deps.metrics.uploads_created.labels(via="files").inc()
        owner = {"environment_id": principal.environment_id, "direct_upload_id": upload.id}
        return CreateDecision(upload.id, owner, upload.expires_at)

    async def authorize(self, request: Request, target: str | None, info: UploadInfo) -> None:
        principal = await self._principal(request)
        if info.owner.get("environment_id") != principal.environment_id:
            raise UploadNotFound()
