"""The extension points of the ingest library (tusd's composer, in Python).

A front-end (tus 1.0, chunked PUT, the resumable-upload draft) needs an :class:`UploadStore`, a
:class:`Locker` and :class:`UploadHooks`. Optional store abilities are separate protocols, checked
once when a front-end is built (:class:`StoreAbilities`); what a front-end advertises (tus
extensions, the DELETE route, checksum algorithms) derives from that check and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from starlette.requests import Request

from reelhouse.ingest.errors import IngestError
from reelhouse.ingest.info import NewUpload, UploadInfo


@dataclass(frozen=True)
class ChunkChecksum:
    """A client's claim about one request body: ``algorithm`` (lowercase) and raw ``digest``."""

    algorithm: str
    digest: bytes


class ChunkWriter(Protocol):
    """Appends one request's body to an upload.

    ``write`` takes one buffer as the pieces it arrived in (appended in order, never joined into a
    copy); it may return before the bytes are durable, but keeps at most one buffer in flight, so
    memory stays bounded. ``commit`` makes everything written durable (per the store's sync
    policy) and returns the new info; with a checksum it first verifies the whole body and, on a
    mismatch, discards it, leaves the offset unchanged and raises ``ChecksumMismatch``. ``abort``
    discards what a checksum writer staged; a plain writer keeps what it wrote (a broken
    connection's partial body counts). Exactly one of ``commit`` and ``abort`` is called.
    """

    async def write(self, parts: Sequence[bytes]) -> None: ...

    async def commit(self) -> UploadInfo: ...

    async def abort(self) -> None: ...


class UploadStore(Protocol):
    """Where upload bytes and their bookkeeping live.

    ``get`` raises ``UploadNotFound`` for an id it does not hold. ``open_writer`` starts at the
    info's current offset; the caller holds the upload's lock. ``mark_finished`` records that the
    finish hook ran, so it runs once.
    """

    async def create(self, new: NewUpload) -> UploadInfo: ...

    async def get(self, upload_id: str) -> UploadInfo: ...

    async def open_writer(
        self, info: UploadInfo, *, checksum: ChunkChecksum | None = None
    ) -> ChunkWriter: ...

    async def mark_finished(self, upload_id: str) -> UploadInfo: ...


@runtime_checkable
class TerminatingStore(Protocol):
    """Can delete an upload and its bytes (tus ``termination``)."""

    async def terminate(self, upload_id: str) -> None: ...


@runtime_checkable
class DeferringStore(Protocol):
    """Can accept the length after creation (tus ``creation-defer-length``)."""

    async def declare_length(self, upload_id: str, size: int) -> UploadInfo: ...


@runtime_checkable
class ConcatenatingStore(Protocol):
    """Can assemble a final upload from partial ones (tus ``concatenation``).

    ``link_partials`` records on each partial that ``final_id`` waits for it, so the front-end
    can finish the final upload when the last partial completes.
    """

    async def concatenate(self, final: UploadInfo, partials: list[UploadInfo]) -> UploadInfo: ...

    async def link_partials(self, final_id: str, partial_ids: tuple[str, ...]) -> None: ...


@runtime_checkable
class ChecksummingStore(Protocol):
    """Can verify a request body before committing it (tus ``checksum``)."""

    checksum_algorithms: tuple[str, ...]


@dataclass(frozen=True)
class StoreAbilities:
    terminate: bool
    defer_length: bool
    concatenate: bool
    checksum_algorithms: tuple[str, ...]

    @classmethod
    def of(cls, store: UploadStore) -> StoreAbilities:
        algorithms: tuple[str, ...] = ()
        if isinstance(store, ChecksummingStore):
            algorithms = tuple(store.checksum_algorithms)
        return cls(
            terminate=isinstance(store, TerminatingStore),
            defer_length=isinstance(store, DeferringStore),
            concatenate=isinstance(store, ConcatenatingStore),
            checksum_algorithms=algorithms,
        )


class Lease(Protocol):
    async def release(self) -> None: ...


class Locker(Protocol):
    """One lock per upload, shared by every process and node that serves it.

    ``acquire`` never blocks the event loop. When another request holds the lock, it asks that
    holder to stop (the holder's ``on_release_requested`` is called, in whatever process holds
    it), waits up to its hand-over time for the holder to save and let go, then raises
    ``Locked``. ``on_release_requested`` of the new holder is called if a later request asks.
    """

    async def acquire(self, upload_id: str, on_release_requested: Callable[[], None]) -> Lease: ...


@dataclass(frozen=True)
class CreateRequest:
    """A validated creation request, handed to the pre-create hook.

    ``target`` is the path parameter the front-end was mounted under (a direct-upload id), or
    None for a collection such as ``/files/``.
    """

    request: Request
    target: str | None
    size: int | None
    metadata: dict[str, str]
    partial: bool = False
    final: bool = False
    partial_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class CreateDecision:
    """The hook's answer: the id to create, the owner context and when the upload expires."""

    upload_id: str
    owner: dict[str, Any] = field(default_factory=dict)
    expires_at: datetime | None = None


class UploadHooks(Protocol):
    """The one way the protocols reach the application.

    ``max_size`` is the size limit for a request, checked before any byte is read.
    ``cors_origin`` is the origin (or ``*``, or a list) browsers may upload from.
    ``pre_create`` may refuse (``HookRejected``) or decide the id and owner. ``authorize`` runs on
    every request for an existing upload and may refuse it (for example: the direct upload was
    cancelled). ``on_finish`` runs once per upload, after its last byte is durable, while the
    upload's lock is held; it must be idempotent, since a crash between it and
    ``mark_finished`` runs it again. ``on_terminate`` runs after a DELETE removed the bytes.
    ``on_received`` reports bytes stored by one request (for metrics). ``on_rejected`` reports
    every refused request with the error it got (for metrics and logs).
    """

    async def max_size(self, request: Request, target: str | None) -> int | None: ...

    async def cors_origin(self, request: Request, target: str | None) -> str | None: ...

    async def pre_create(self, create: CreateRequest) -> CreateDecision: ...

    async def authorize(self, request: Request, target: str | None, info: UploadInfo) -> None: ...

    async def on_finish(self, info: UploadInfo) -> None: ...

    async def on_terminate(self, info: UploadInfo) -> None: ...

    async def on_received(self, info: UploadInfo, received: int) -> None: ...

    async def on_rejected(
        self, request: Request, target: str | None, error: IngestError
    ) -> None: ...
