"""Test hooks for the ingest library: in-memory, with knobs the tests turn."""

from __future__ import annotations

import itertools
from datetime import datetime

from starlette.requests import Request

from reelhouse.ingest.errors import HookRejected, IngestError, UploadNotFound
from reelhouse.ingest.info import UploadInfo
from reelhouse.ingest.protocols import CreateDecision, CreateRequest


class RecordingHooks:
    def __init__(self, *, max_size: int | None = None, expires_at: datetime | None = None) -> None:
        self.limit = max_size
        self.expires_at = expires_at
        self.finished: list[UploadInfo] = []
        self.terminated: list[str] = []
        self.received = 0
        self.rejected: list[str] = []
        self.refused_targets: set[str] = set()
        self._ids = itertools.count(1)

    async def max_size(self, request: Request, target: str | None) -> int | None:
        return self.limit

    async def cors_origin(self, request: Request, target: str | None) -> str | None:
        return "https://app.example"

    async def pre_create(self, create: CreateRequest) -> CreateDecision:
        if create.target in self.refused_targets:
            raise HookRejected(410, "cancelled", "This upload was cancelled.")
        if create.target and not create.partial:
            upload_id = create.target
        else:
            upload_id = f"up{next(self._ids):06d}xyz"
        return CreateDecision(
            upload_id=upload_id, owner={"t": create.target}, expires_at=self.expires_at
        )

    async def authorize(self, request: Request, target: str | None, info: UploadInfo) -> None:
        if info.owner.get("t") != target:
            raise UploadNotFound()
        if target in self.refused_targets:
            raise HookRejected(410, "cancelled", "This upload was cancelled.")

    async def on_finish(self, info: UploadInfo) -> None:
        self.finished.append(info)

    async def on_terminate(self, info: UploadInfo) -> None:
        self.terminated.append(info.id)

    async def on_received(self, info: UploadInfo, received: int) -> None:
        self.received += received

    async def on_rejected(self, request: Request, target: str | None, error: IngestError) -> None:
        self.rejected.append(error.code)
