"""The extension points of object storage (tusd's composer, for finished media).

:class:`ObjectStore` is the small core every backend implements. Optional abilities are separate
runtime-checkable protocols (:class:`LocalPaths`, :class:`Presigning`, :class:`Multipart`),
checked once where a store is handed to its user (:meth:`StoreAbilities.of`); behaviour (serve
with sendfile or redirect to a presigned URL, copy a source or read it in place) derives from
that check, never from the backend's class.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class ObjectInfo:
    """What a store knows about one object.

    ``etag`` is opaque: it changes whenever the bytes change and is never quoted. It is the MD5
    hex digest for objects written in one piece (local store, S3 single-part), but not for S3
    multipart uploads, so never use it as a checksum of the content. ``content_type`` is None
    only in :meth:`ObjectStore.list` results of stores whose listing does not carry it (S3).
    ``modified`` is timezone-aware (UTC).
    """

    key: str
    size: int
    etag: str
    content_type: str | None
    modified: datetime


class ObjectStore(Protocol):
    """A flat namespace of immutable-per-write objects, S3's contract on every backend.

    - Keys obey :mod:`reelhouse.storage.keys`; any method given a bad key or prefix raises
      ``InvalidKey`` before touching the backend.
    - Writes are atomic per key: a reader sees the whole old object or the whole new one,
      never a half-written one, and a failed or cancelled write leaves the old object (a write
      whose caller was cancelled may still land, whole). Once a write returns, every reader,
      listing and ``stat`` on any node sees it (read-after-write consistency).
    - ``content_type=None`` means "guess from the key's extension"
      (:func:`reelhouse.storage.content_types.guess_content_type`).
    - A missing key raises ``ObjectNotFound`` from ``get_bytes``, ``stat``, ``open_range`` and
      ``download_to``; ``delete`` of a missing key does nothing. Every other failure is a
      ``StorageError`` with the backend's exception chained.
    - Nothing is held whole in memory except by ``get_bytes``/``put_bytes``, which are for
      small objects (playlists, manifests, images). Blocking I/O never runs on the event loop.
    """

    async def put_file(self, key: str, path: Path, *, content_type: str | None = None) -> None:
        """Store the contents of the local file ``path`` at ``key``, streaming it."""
        ...

    async def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        """Store ``data`` at ``key``."""
        ...

    async def get_bytes(self, key: str) -> bytes:
        """The whole object (small objects only)."""
        ...

    def open_range(
        self, key: str, start: int = 0, end: int | None = None
    ) -> AsyncGenerator[bytes, None]:
        """Stream bytes ``start`` to ``end`` *inclusive* (HTTP ``Range`` semantics).

        ``end=None`` or an ``end`` past the object's last byte means "to the end". Requires
        ``0 <= start`` and ``start <= end``, else ``ValueError``. A ``start`` at or past the end
        raises ``InvalidRange``, except ``(0, None)``, which streams an empty object as nothing.
        Chunks are bounded (about 1 MiB), so memory stays bounded whatever the range. The
        object is opened on the first iteration, which raises ``ObjectNotFound``/``InvalidRange``
        before any bytes. Close the iterator (``contextlib.aclosing``) when stopping early.
        """
        ...

    async def stat(self, key: str) -> ObjectInfo:
        """Size, ETag, media type and modification time of the object at ``key``."""
        ...

    async def exists(self, key: str) -> bool:
        """Whether an object exists at ``key``."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object at ``key``; a missing key is not an error (idempotent)."""
        ...

    async def delete_prefix(self, prefix: str) -> int:
        """Remove every object whose key starts with ``prefix``; return how many were removed.

        ``prefix`` may not be empty (wiping a whole store is not one call away). Not atomic:
        a crash leaves some objects, and calling it again finishes the job.
        """
        ...

    def list(self, prefix: str = "") -> AsyncGenerator[ObjectInfo, None]:
        """Every object whose key starts with ``prefix`` (a plain string match), in
        lexicographic order of the keys' UTF-8 bytes, fetched lazily page by page."""
        ...

    async def download_to(self, key: str, path: Path) -> None:
        """Write the object to the local file ``path`` (parents created), atomically: ``path``
        holds either its old contents or the whole object."""
        ...


@runtime_checkable
class LocalPaths(Protocol):
    """Objects are files on this machine: read them in place (sendfile, FFmpeg input).

    ``local_path`` validates the key and maps it to a path inside the store's root (it never
    leads outside through a symlink); it does not check that the object exists. Treat the file
    as read-only: write through the store, which replaces files atomically, so a reader that
    opened the path keeps a consistent (old) object.
    """

    def local_path(self, key: str) -> Path: ...


@runtime_checkable
class WholeReads(Protocol):
    """Can stat an object and read it whole in one blocking call: cheaper than ``stat`` then
    ``open_range`` for small objects (HLS segments, playlists, thumbnails)."""

    async def read_whole(self, key: str, limit: int) -> tuple[ObjectInfo, bytes | None]:
        """The object's info, and its bytes when it holds at most ``limit`` bytes (else None).
        Raises :class:`ObjectNotFound` like ``stat``."""
        ...


@runtime_checkable
class Presigning(Protocol):
    """Can hand out time-limited URLs that fetch an object without our credentials.

    ``expires_in`` is in seconds (1 to 604800, SigV4's week). With ``filename``, the response
    carries ``Content-Disposition: attachment`` with that name (a download). Signing is local
    (no request is made) and does not check that the object exists.
    """

    async def presign_get(
        self, key: str, expires_in: int, *, filename: str | None = None
    ) -> str: ...


@dataclass(frozen=True)
class UploadedPart:
    """One stored part of a multipart upload: numbers run 1..10000, ``etag`` as the backend
    returned it (needed to complete)."""

    part_number: int
    etag: str
    size: int


@runtime_checkable
class Multipart(Protocol):
    """Can assemble an object from parts uploaded in separate requests (S3 multipart).

    Parts are 5 MiB to 5 GiB except the last; some backends (R2) want every non-final part the
    same size. Nothing exists at ``key`` until ``complete_multipart``; stored parts cost space
    until the upload is completed or aborted. ``list_parts`` tells what is durable after a
    crash. An unknown ``upload_id`` raises ``MultipartNotFound``; ``abort_multipart`` of an
    unknown one does nothing.
    """

    async def start_multipart(self, key: str, *, content_type: str | None = None) -> str: ...

    async def upload_part(
        self, key: str, upload_id: str, part_number: int, data: bytes
    ) -> UploadedPart: ...

    async def list_parts(self, key: str, upload_id: str) -> list[UploadedPart]: ...

    async def complete_multipart(
        self, key: str, upload_id: str, parts: Sequence[UploadedPart]
    ) -> str: ...

    async def abort_multipart(self, key: str, upload_id: str) -> None: ...


@dataclass(frozen=True)
class StoreAbilities:
    """Which optional abilities a store has, decided once when it is handed to its user."""

    local_paths: bool
    presigning: bool
    multipart: bool

    @classmethod
    def of(cls, store: ObjectStore) -> StoreAbilities:
        return cls(
            local_paths=isinstance(store, LocalPaths),
            presigning=isinstance(store, Presigning),
            multipart=isinstance(store, Multipart),
        )
