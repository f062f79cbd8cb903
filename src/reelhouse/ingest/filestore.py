"""Uploads on local disk: one data file per upload plus a small JSON ``.info`` beside it.

The durable offset is the data file's size, so after a crash HEAD reports exactly what is on disk.
Bodies are appended by a worker thread in buffers while the event loop reads the next buffer
(one buffer in flight per upload), and the whole-file sha256 is computed in the same pass. With
``fsync`` on, data is flushed with ``fdatasync`` every ``sync_every`` bytes and before an offset is
acknowledged. A body with a checksum is staged in a side file and appended only once it verifies.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import hashlib
import json
import os
import re
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from reelhouse.ingest.errors import ChecksumMismatch, Conflict, StoreError, UploadNotFound
from reelhouse.ingest.info import NewUpload, UploadInfo
from reelhouse.ingest.protocols import ChunkChecksum

T = TypeVar("T")

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
_HASHES: dict[str, Callable[[], Any]] = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "md5": hashlib.md5,
}
_COPY_BLOCK = 1 << 20
_IOV_MAX = 1024
# With fsync on, write-back of received bytes starts once this much is waiting: early enough that
# the flush acknowledging an offset finds little left, in writes large enough for the disk.
WRITEBACK_EVERY = 2 << 20


_SYNC_FILE_RANGE_WRITE = 2


def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    function = libc.sync_file_range
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    typed: Callable[[int, int, int, int], int] = function
    return typed


_START_WRITEBACK = _sync_file_range()


def start_writeback(fd: int, start: int = 0, length: int = 0) -> None:
    """Ask the kernel to begin writing ``fd``'s dirty pages in ``[start, start + length)`` (all
    of them when ``length`` is 0) without waiting (Linux); a no-op elsewhere."""
    if _START_WRITEBACK is not None:
        _START_WRITEBACK(fd, start, length, _SYNC_FILE_RANGE_WRITE)


def write_all(fd: int, parts: Sequence[bytes]) -> int:
    """Append ``parts`` in order with as few ``writev`` calls as the kernel allows."""
    views = [memoryview(part) for part in parts if part]
    total = sum(len(view) for view in views)
    while views:
        count = os.writev(fd, views[:_IOV_MAX])
        while views and count >= len(views[0]):
            count -= len(views[0])
            views.pop(0)
        if count:
            views[0] = views[0][count:]
    return total


class _HashCache:
    """Running whole-file sha256 states, keyed by upload id, valid for one offset each."""

    def __init__(self, capacity: int = 4096) -> None:
        self._entries: OrderedDict[str, tuple[int, Any]] = OrderedDict()
        self._capacity = capacity

    def take(self, upload_id: str, offset: int) -> Any | None:
        entry = self._entries.pop(upload_id, None)
        if entry is None or entry[0] != offset:
            return None
        return entry[1]

    def put(self, upload_id: str, offset: int, hasher: Any) -> None:
        self._entries[upload_id] = (offset, hasher)
        self._entries.move_to_end(upload_id)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)

    def drop(self, upload_id: str) -> None:
        self._entries.pop(upload_id, None)


class FileStore:
    """An :class:`~reelhouse.ingest.protocols.UploadStore` with every optional ability."""

    checksum_algorithms = tuple(_HASHES)

    def __init__(
        self,
        root: Path,
        *,
        fsync: bool = True,
        sync_every: int = 32 << 20,
        executor: ThreadPoolExecutor | None = None,
    ) -> None:
        self.root = root
        self.fsync = fsync
        self.sync_every = sync_every
        self._executor = executor or ThreadPoolExecutor(max_workers=32, thread_name_prefix="ingest")
        self._hashes = _HashCache()
        # Guards read-modify-write of .info records: linking a partial to its final upload
        # happens without the partial's lock, beside a PATCH that may be completing it.
        self._info_lock = threading.Lock()
        root.mkdir(parents=True, exist_ok=True)

    # -- paths and bookkeeping -------------------------------------------------------------
    def data_path(self, upload_id: str) -> Path:
        if not _SAFE_ID.match(upload_id):
            raise UploadNotFound()
        return self.root / upload_id

    def _info_path(self, upload_id: str) -> Path:
        return self.data_path(upload_id).with_suffix(".info")

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn, *args)
        except OSError as exc:
            raise StoreError("The upload store could not complete the operation.") from exc

    def _write_info(self, info: UploadInfo) -> None:
        path = self._info_path(info.id)
        tmp = path.with_suffix(".info.tmp")
        record = asdict(info)
        record.pop("offset")
        payload = json.dumps(record, default=_json_default).encode()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, payload)
            if self.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)

    def _read_info(self, upload_id: str) -> UploadInfo:
        try:
            record = json.loads(self._info_path(upload_id).read_bytes())
        except FileNotFoundError:
            raise UploadNotFound() from None
        try:
            offset = os.stat(self.data_path(upload_id)).st_size
        except FileNotFoundError:
            offset = 0
        return _info_from_record(record, offset)

    def _update_info(self, upload_id: str, **changes: Any) -> UploadInfo:
        with self._info_lock:
            info = replace(self._read_info(upload_id), **changes)
            self._write_info(info)
            return info

    # -- UploadStore -------------------------------------------------------------------------
    async def create(self, new: NewUpload) -> UploadInfo:
        info = UploadInfo(
            id=new.id,
            size=new.size,
            offset=0,
            created_at=new.created_at,
            metadata=dict(new.metadata),
            expires_at=new.expires_at,
            partial=new.partial,
            final=new.final,
            partial_ids=new.partial_ids,
            owner=dict(new.owner),
        )
        await self._run(self._create_blocking, info)
        if info.size == 0 and not info.final:
            return replace(info, sha256=hashlib.sha256().hexdigest())
        return info

    def _create_blocking(self, info: UploadInfo) -> None:
        data = self.data_path(info.id)
        if self._info_path(info.id).exists() and data.exists() and data.stat().st_size > 0:
            raise Conflict("An upload with bytes already exists under this id.")
        if not info.final:
            data.write_bytes(b"")
        if info.size == 0 and not info.final:
            info = replace(info, sha256=hashlib.sha256().hexdigest())
        self._write_info(info)
        self._hashes.drop(info.id)

    async def get(self, upload_id: str) -> UploadInfo:
        return await self._run(self._read_info, upload_id)

    async def open_writer(
        self, info: UploadInfo, *, checksum: ChunkChecksum | None = None
    ) -> FileWriter:
        hasher = self._hashes.take(info.id, info.offset)
        if hasher is None:
            hasher = await self._run(self._rehash, info.id, info.offset)
        return FileWriter(self, info, hasher, checksum)

    def _rehash(self, upload_id: str, offset: int) -> Any:
        hasher = hashlib.sha256()
        with open(self.data_path(upload_id), "rb") as source:
            left = offset
            while left > 0:
                block = source.read(min(_COPY_BLOCK, left))
                if not block:
                    break
                hasher.update(block)
                left -= len(block)
        return hasher

    async def mark_finished(self, upload_id: str) -> UploadInfo:
        return await self._run(lambda: self._update_info(upload_id, finished=True))

    # -- optional abilities ------------------------------------------------------------------
    async def terminate(self, upload_id: str) -> None:
        def remove() -> None:
            for path in (self.data_path(upload_id), self._info_path(upload_id)):
                path.unlink(missing_ok=True)
            for staged in self.root.glob(f"{upload_id}.stage-*"):
                staged.unlink(missing_ok=True)

        self._hashes.drop(upload_id)
        await self._run(remove)

    async def declare_length(self, upload_id: str, size: int) -> UploadInfo:
        info = await self._run(lambda: self._update_info(upload_id, size=size))
        if info.complete and info.sha256 is None:
            # Declaring the length of bytes already stored completes the upload without a
            # commit, so the whole-file hash is recorded here.
            hasher: Any = self._hashes.take(upload_id, info.offset)
            if hasher is None:
                hasher = await self._run(self._rehash, upload_id, info.offset)
            info = await self._run(self.complete_info, info, hasher.hexdigest())
        return info

    async def link_partials(self, final_id: str, partial_ids: tuple[str, ...]) -> None:
        def link() -> None:
            for partial_id in partial_ids:
                with self._info_lock:
                    info = self._read_info(partial_id)
                    if final_id not in info.concat_into:
                        self._write_info(replace(info, concat_into=(*info.concat_into, final_id)))

        await self._run(link)

    async def concatenate(self, final: UploadInfo, partials: list[UploadInfo]) -> UploadInfo:
        return await self._run(self._concatenate_blocking, final, partials)

    def _concatenate_blocking(self, final: UploadInfo, partials: list[UploadInfo]) -> UploadInfo:
        target = self.data_path(final.id)
        tmp = target.with_suffix(".concat")
        hasher = hashlib.sha256()
        with open(tmp, "wb") as out:
            for partial in partials:
                with open(self.data_path(partial.id), "rb") as source:
                    while block := source.read(_COPY_BLOCK):
                        hasher.update(block)
                        out.write(block)
            out.flush()
            if self.fsync:
                os.fdatasync(out.fileno())
        total = sum(p.size or 0 for p in partials)
        info = replace(final, size=total, offset=total, sha256=hasher.hexdigest())
        self._write_info(info)
        os.replace(tmp, target)
        return info

    # -- used by FileWriter ------------------------------------------------------------------
    def remember_hash(self, upload_id: str, offset: int, hasher: Any) -> None:
        self._hashes.put(upload_id, offset, hasher)

    def forget_hash(self, upload_id: str) -> None:
        self._hashes.drop(upload_id)

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        return self._executor.submit(fn, *args)

    def complete_info(self, info: UploadInfo, sha256: str) -> UploadInfo:
        # Re-read rather than write the writer's copy back: the record may have gained links
        # (concat_into) since the writer loaded it.
        return self._update_info(info.id, sha256=sha256)


class FileWriter:
    """Appends one body to one upload; see :class:`~reelhouse.ingest.protocols.ChunkWriter`."""

    def __init__(
        self, store: FileStore, info: UploadInfo, hasher: Any, checksum: ChunkChecksum | None
    ) -> None:
        self._store = store
        self._info = info
        self._hasher = hasher
        self._checksum = checksum
        self._chunk_hasher = _HASHES[checksum.algorithm]() if checksum else None
        path = store.data_path(info.id)
        self._stage_path = path.with_name(f"{info.id}.stage-{os.getpid()}") if checksum else None
        target = self._stage_path or path
        flags = os.O_WRONLY | os.O_APPEND | (os.O_CREAT | os.O_TRUNC if checksum else 0)
        try:
            self._fd = os.open(target, flags, 0o600)
        except FileNotFoundError:
            raise UploadNotFound() from None
        self._pending: Future[None] | None = None
        self._written = 0
        self._unsynced = 0
        self._kicked = 0  # bytes of this body whose write-back has been started
        self._base = 0 if checksum else info.offset  # where this body starts in the file
        self._failed = False

    async def write(self, parts: Sequence[bytes]) -> None:
        await self._wait_pending()
        self._pending = self._store.submit(self._write_blocking, parts)

    def _write_blocking(self, parts: Sequence[bytes]) -> None:
        size = write_all(self._fd, parts)
        hasher = self._chunk_hasher if self._chunk_hasher is not None else self._hasher
        for part in parts:
            hasher.update(part)
        self._written += size
        self._unsynced += size
        if not self._store.fsync:
            return
        if self._unsynced >= self._store.sync_every:
            os.fdatasync(self._fd)
            self._unsynced = 0
            self._kicked = self._written
        elif self._written - self._kicked >= WRITEBACK_EVERY:
            start_writeback(self._fd, self._base + self._kicked, self._written - self._kicked)
            self._kicked = self._written

    async def _wait_pending(self) -> None:
        """Wait for the buffer in flight; a cancelled waiter leaves it tracked for ``commit``."""
        pending = self._pending
        if pending is None:
            return
        try:
            await asyncio.shield(asyncio.wrap_future(pending))
        except OSError as exc:
            self._failed = True
            raise StoreError("Writing the upload failed.") from exc
        finally:
            if pending.done():
                self._pending = None

    async def commit(self) -> UploadInfo:
        with contextlib.suppress(StoreError):
            # _failed is set: the commit below reports what reached the disk
            await self._wait_pending()
        try:
            return await asyncio.wrap_future(self._store.submit(self._commit_blocking))
        except OSError as exc:
            self._store.forget_hash(self._info.id)
            raise StoreError("Saving the upload failed.") from exc

    def _commit_blocking(self) -> UploadInfo:
        try:
            if self._stage_path is not None:
                self._append_staged()
            elif self._store.fsync and self._unsynced:
                os.fdatasync(self._fd)
        finally:
            os.close(self._fd)
        offset = os.stat(self._store.data_path(self._info.id)).st_size
        if self._failed or offset != self._info.offset + self._written:
            self._store.forget_hash(self._info.id)
            return self._info.with_offset(offset)
        info = self._info.with_offset(offset)
        if info.complete:
            return self._store.complete_info(info, self._hasher.hexdigest())
        self._store.remember_hash(info.id, offset, self._hasher)
        return info

    def _append_staged(self) -> None:
        assert self._checksum is not None and self._chunk_hasher is not None
        stage = self._stage_path
        assert stage is not None
        if self._chunk_hasher.digest() != self._checksum.digest:
            stage.unlink(missing_ok=True)
            self._store.remember_hash(self._info.id, self._info.offset, self._hasher)
            raise ChecksumMismatch(
                f"The body's {self._checksum.algorithm} checksum does not match Upload-Checksum; "
                "the chunk was discarded and the offset is unchanged."
            )
        target = self._store.data_path(self._info.id)
        with open(stage, "rb") as source, open(target, "ab") as out:
            while block := source.read(_COPY_BLOCK):
                self._hasher.update(block)
                out.write(block)
            out.flush()
            if self._store.fsync:
                os.fdatasync(out.fileno())
        stage.unlink(missing_ok=True)

    async def abort(self) -> None:
        with contextlib.suppress(StoreError):
            await self._wait_pending()
        os.close(self._fd)
        if self._stage_path is not None:
            self._stage_path.unlink(missing_ok=True)
            self._store.remember_hash(self._info.id, self._info.offset, self._hasher)
        else:
            self._store.forget_hash(self._info.id)


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def _info_from_record(record: dict[str, Any], offset: int) -> UploadInfo:
    for key in ("created_at", "expires_at"):
        if record.get(key):
            record[key] = datetime.fromisoformat(record[key])
    for key in ("partial_ids", "concat_into"):
        record[key] = tuple(record.get(key) or ())
    return UploadInfo(offset=offset, **record)
