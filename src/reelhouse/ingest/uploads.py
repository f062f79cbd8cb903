"""The upload state machine that every front-end (tus, chunked PUT, the draft) drives.

It owns the order of things: take the upload's lock, load and authorize, check what can be
checked before reading a byte, stream the body, commit, and run the finish hook exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from starlette.requests import Request

from reelhouse.ingest.body import LARGEST_BUFFER, BodyEnd, BodyPump, BodyResult, BufferShares
from reelhouse.ingest.errors import (
    BadRequest,
    Forbidden,
    IngestError,
    Locked,
    TooLarge,
    UploadGone,
    UploadNotFound,
)
from reelhouse.ingest.info import NewUpload, UploadInfo
from reelhouse.ingest.protocols import (
    ChunkChecksum,
    ChunkWriter,
    ConcatenatingStore,
    CreateRequest,
    DeferringStore,
    Locker,
    StoreAbilities,
    UploadHooks,
    UploadStore,
)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class IngestConfig:
    max_size: int | None = None
    read_timeout: float = 60.0
    buffers: BufferShares = field(default_factory=lambda: BufferShares(LARGEST_BUFFER))
    clock: Callable[[], datetime] = _utcnow


class Holder:
    """This request's claim on an upload's lock; a hand-over request stops its body pump."""

    def __init__(self) -> None:
        self.pump: BodyPump | None = None
        self.asked = False

    def stop(self) -> None:
        self.asked = True
        if self.pump is not None:
            self.pump.stop()


@dataclass(frozen=True)
class Appended:
    info: UploadInfo
    body: BodyResult


class Uploads:
    def __init__(
        self, store: UploadStore, locker: Locker, hooks: UploadHooks, config: IngestConfig
    ) -> None:
        self.store = store
        self.locker = locker
        self.hooks = hooks
        self.config = config
        self.abilities = StoreAbilities.of(store)

    @asynccontextmanager
    async def locked(self, upload_id: str) -> AsyncIterator[Holder]:
        holder = Holder()
        lease = await self.locker.acquire(upload_id, holder.stop)
        try:
            yield holder
        finally:
            await lease.release()

    async def max_size(self, request: Request, target: str | None) -> int | None:
        limits = [self.config.max_size, await self.hooks.max_size(request, target)]
        known = [limit for limit in limits if limit is not None]
        return min(known) if known else None

    async def load(self, request: Request, target: str | None, upload_id: str) -> UploadInfo:
        """The upload, if this request may touch it; expired unfinished uploads are gone."""
        info = await self.store.get(upload_id)
        await self.hooks.authorize(request, target, info)
        now = self.config.clock()
        if info.expires_at is not None and now >= info.expires_at and not info.complete:
            raise UploadGone(
                f"This upload expired at {info.expires_at.isoformat()} before it was finished; "
                "start a new upload."
            )
        return info

    async def check_size(self, request: Request, target: str | None, size: int | None) -> None:
        limit = await self.max_size(request, target)
        if size is not None and limit is not None and size > limit:
            raise TooLarge(
                f"The upload is {size} bytes, larger than this environment's limit of "
                f"{limit} bytes."
            )

    async def declare_length(
        self, request: Request, target: str | None, info: UploadInfo, size: int
    ) -> UploadInfo:
        if info.size is not None:
            if info.size != size:
                raise BadRequest("Upload-Length cannot change once it is set.")
            return info
        if not isinstance(self.store, DeferringStore):
            raise BadRequest("This server does not accept a deferred length.")
        if size < info.offset:
            raise BadRequest(f"Upload-Length {size} is less than the bytes already stored.")
        await self.check_size(request, target, size)
        return await self.store.declare_length(info.id, size)

    async def create(
        self,
        create: CreateRequest,
        *,
        holding_lock: bool = False,
    ) -> UploadInfo:
        """Create an upload (the pre-create hook decides its id); finish it if already whole.

        ``holding_lock`` says the caller already holds the lock of the id the hook will choose.
        """
        await self.check_size(create.request, create.target, create.size)
        decision = await self.hooks.pre_create(create)
        new = NewUpload(
            id=decision.upload_id,
            size=create.size,
            created_at=self.config.clock(),
            metadata=create.metadata,
            expires_at=decision.expires_at,
            partial=create.partial,
            final=create.final,
            partial_ids=create.partial_ids,
            owner=decision.owner,
        )
        info = await self.store.create(new)
        if create.final and isinstance(self.store, ConcatenatingStore):
            await self.store.link_partials(info.id, create.partial_ids)
            return await self.concatenate_if_ready(info.id) or info
        if info.complete:
            if holding_lock:
                return await self.finish(info)
            async with self.locked(info.id):
                info = await self.finish(info)
        return info

    async def resolve_partials(
        self, request: Request, target: str | None, ids: list[str]
    ) -> list[UploadInfo]:
        partials = []
        for upload_id in ids:
            try:
                partial = await self.load(request, target, upload_id)
            except (UploadNotFound, UploadGone):
                raise BadRequest(f"Upload-Concat names an unknown upload {upload_id!r}.") from None
            if not partial.partial:
                raise BadRequest(f"Upload {upload_id!r} was not created as a partial upload.")
            if partial.size is None:
                raise BadRequest(f"Partial upload {upload_id!r} has no length yet.")
            partials.append(partial)
        return partials

    async def append(
        self,
        request: Request,
        target: str | None,
        info: UploadInfo,
        holder: Holder,
        *,
        skip: int = 0,
        checksum: ChunkChecksum | None = None,
    ) -> Appended:
        """Stream the request body onto the upload (the caller holds the lock via ``holder``)."""
        if info.final:
            raise Forbidden("A final concatenated upload cannot be written to directly.")
        content_length = _content_length(request)
        remaining = info.remaining
        if (
            remaining is not None
            and content_length is not None
            and content_length - skip > remaining
        ):
            raise TooLarge(
                f"The body has {content_length - skip} new bytes but the upload needs only "
                f"{remaining} more."
            )
        limit = remaining
        if limit is None:
            # A deferred length may grow up to the size limit; a body that claims more is
            # refused before a byte is read, and a streamed one is cut at the limit.
            max_size = await self.max_size(request, target)
            limit = None if max_size is None else max(max_size - info.offset, 0)
            if limit is not None and content_length is not None and content_length - skip > limit:
                raise TooLarge(
                    f"The body has {content_length - skip} new bytes but this environment's "
                    f"limit leaves room for only {limit} more."
                )
        writer = await self.store.open_writer(info, checksum=checksum)
        pump = BodyPump(
            request.receive,
            writer,
            limit=limit,
            skip=skip,
            buffers=self.config.buffers,
            read_timeout=self.config.read_timeout,
        )
        holder.pump = pump
        if holder.asked:
            pump.stop()
        try:
            body = await pump.run()
        except asyncio.CancelledError:
            await asyncio.shield(self._settle_failed(writer, checksum))
            raise
        except IngestError:
            await self._settle_failed(writer, checksum)
            raise
        new_info = await self._settle(writer, checksum, complete=body.end is BodyEnd.COMPLETE)
        if body.received:
            await self.hooks.on_received(new_info, body.received)
        if new_info.size is None and body.end is BodyEnd.LIMIT:
            raise TooLarge("The upload grew past this environment's size limit.")
        if new_info.complete:
            new_info = await self.finish(new_info)
        return Appended(info=new_info, body=body)

    @staticmethod
    async def _settle(
        writer: ChunkWriter, checksum: ChunkChecksum | None, *, complete: bool
    ) -> UploadInfo:
        if checksum is not None and not complete:
            await writer.abort()
            raise BadRequest("The body ended early, so its checksum cannot be verified.")
        return await writer.commit()

    @classmethod
    async def _settle_failed(cls, writer: ChunkWriter, checksum: ChunkChecksum | None) -> None:
        """Close the writer of a body that broke off: what the store kept stands (a plain body's
        bytes that reached it, nothing of a staged one); the original error is what counts."""
        with contextlib.suppress(IngestError):
            await cls._settle(writer, checksum, complete=False)

    async def finish(self, info: UploadInfo) -> UploadInfo:
        """Run the finish hook once for a complete upload (the caller holds its lock)."""
        if info.finished or not info.complete:
            return info
        if not info.partial:
            await self.hooks.on_finish(info)
        finished = await self.store.mark_finished(info.id)
        for final_id in finished.concat_into:
            await self.concatenate_if_ready(final_id)
        return finished

    async def concatenate_if_ready(self, final_id: str) -> UploadInfo | None:
        """Assemble a final upload once all its partials are complete; None if not yet."""
        if not isinstance(self.store, ConcatenatingStore):
            return None
        try:
            async with self.locked(final_id):
                final = await self.store.get(final_id)
                if final.complete:
                    return await self.finish(final)
                partials = [await self.store.get(pid) for pid in final.partial_ids]
                if not all(p.complete for p in partials):
                    return None
                final = await self.store.concatenate(final, partials)
                return await self.finish(final)
        except Locked:
            return None


def _content_length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    if value is None:
        return None
    if not value.isdigit():
        raise BadRequest("Content-Length must be a non-negative integer.")
    return int(value)
