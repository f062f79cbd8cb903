"""Objects as files under one directory: the store of a single machine.

``root/<key>`` holds each object. A write goes to a temporary file in the object's directory
(named ``.~rh-*``, a segment no key may use), is fsynced, then renamed over the key: rename is
atomic, so a reader sees the old file or the new one, and a reader that already opened the old
one keeps reading it whole. The ETag is the MD5 hex digest of the content, computed while
copying (the same value S3 gives a single-part upload); it and the media type are stored as
extended attributes of the temporary file, so they arrive with the rename, atomically. On a file
system without user xattrs the ETag falls back to ``<mtime_ns hex>-<size hex>`` and the media
type to a guess from the key.

Every blocking call runs in the executor. Keys never reach outside ``root``: they cannot hold
``..``, no symlink on the way to an object may lead out of ``root``, and an object that is itself
a symlink is neither followed nor listed. The file system limits one segment to 255 bytes, and a
key cannot be both an object and a "directory" (``a/b`` and ``a/b/c``), which S3 allows; keys
from :mod:`reelhouse.storage.layout` never collide that way.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import errno
import functools
import hashlib
import os
import secrets
import stat as stat_module
from collections.abc import AsyncGenerator, Callable, Generator, Iterator
from concurrent.futures import Executor
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, ParamSpec, TypeVar

from reelhouse.storage.content_types import guess_content_type
from reelhouse.storage.errors import InvalidKey, InvalidRange, ObjectNotFound, StorageError
from reelhouse.storage.keys import (
    RESERVED_SEGMENT_START,
    is_valid_key,
    validate_key,
    validate_prefix,
)
from reelhouse.storage.protocols import ObjectInfo
from reelhouse.storage.ranges import LockedReader, check_range

P = ParamSpec("P")
T = TypeVar("T")

CHUNK_SIZE = 1 << 20
_LIST_BATCH = 256
_XATTR_ETAG = "user.reelhouse.etag"
_XATTR_CONTENT_TYPE = "user.reelhouse.content_type"
_NO_XATTRS = {errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENODATA}
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
_CHECKED_DIRECTORIES = 4096
_NOT_AN_OBJECT = (FileNotFoundError, NotADirectoryError, IsADirectoryError)


class LocalObjectStore:
    """An :class:`~reelhouse.storage.protocols.ObjectStore` with :class:`LocalPaths`.

    ``fsync`` makes each write durable (file, then directory) before it returns. ``executor``
    runs the blocking calls (default: the event loop's default executor). Creates ``root``.
    """

    def __init__(self, root: Path, *, fsync: bool = True, executor: Executor | None = None) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = Path(os.path.realpath(root))
        self.fsync = fsync
        self._executor = executor
        self._xattrs = True
        self._checked_directories: set[Path] = set()

    # -- LocalPaths ------------------------------------------------------------------------

    def local_path(self, key: str) -> Path:
        """The file of ``key`` inside ``root`` (resolved; it may not exist)."""
        path = self._path(key)
        self._inside(key, path)
        return path

    # -- ObjectStore -----------------------------------------------------------------------

    async def put_file(self, key: str, path: Path, *, content_type: str | None = None) -> None:
        target = self._path(key)

        def write(out: BinaryIO) -> str:
            digest = hashlib.md5(usedforsecurity=False)
            buffer = bytearray(CHUNK_SIZE)
            view = memoryview(buffer)
            with open(path, "rb", buffering=0) as source:
                while n := source.readinto(buffer):
                    digest.update(view[:n])
                    out.write(view[:n])
            return digest.hexdigest()

        await self._run(key, self._put, key, target, write, content_type)

    async def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        target = self._path(key)

        def write(out: BinaryIO) -> str:
            out.write(data)
            return hashlib.md5(data, usedforsecurity=False).hexdigest()

        await self._run(key, self._put, key, target, write, content_type)

    async def get_bytes(self, key: str) -> bytes:
        path = self._path(key)

        def read() -> bytes:
            fd = self._open(key, path)
            with open(fd, "rb") as file:
                return file.read()

        return await self._run(key, read)

    async def open_range(
        self, key: str, start: int = 0, end: int | None = None
    ) -> AsyncGenerator[bytes, None]:
        check_range(start, end)
        path = self._path(key)

        def open_sized() -> tuple[int, int]:
            fd = self._open(key, path)
            return fd, os.fstat(fd).st_size

        fd, size = await self._run(key, open_sized)
        position = start

        def pread(count: int) -> bytes:
            nonlocal position
            chunk = os.pread(fd, count, position)
            position += len(chunk)
            return chunk

        reader = LockedReader(pread, functools.partial(os.close, fd))
        try:
            if start >= size and not (start == 0 and end is None):
                raise InvalidRange(f"range start {start} is past the end of {key!r} ({size} bytes)")
            remaining = (size if end is None else min(end + 1, size)) - start
            while remaining > 0:
                chunk = await self._run(key, reader.read, min(CHUNK_SIZE, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                yield chunk
        finally:
            await self._run(key, reader.close)

    async def read_whole(self, key: str, limit: int) -> tuple[ObjectInfo, bytes | None]:
        """:class:`~reelhouse.storage.protocols.WholeReads`: open, stat and (up to ``limit``
        bytes) read in one executor call."""
        path = self._path(key)

        def read() -> tuple[ObjectInfo, bytes | None]:
            fd = self._open(key, path)
            try:
                info = self._info(key, fd)
                if info.size > limit:
                    return info, None
                with open(fd, "rb", closefd=False) as file:
                    data = file.read(info.size + 1)
                if len(data) != info.size:  # replaced files keep their bytes: only a truncation
                    raise StorageError(f"{key!r} changed size while it was read")
                return info, data
            finally:
                os.close(fd)

        return await self._run(key, read)

    async def stat(self, key: str) -> ObjectInfo:
        path = self._path(key)

        def stat() -> ObjectInfo:
            fd = self._open(key, path)
            try:
                return self._info(key, fd)
            finally:
                os.close(fd)

        return await self._run(key, stat)

    async def exists(self, key: str) -> bool:
        try:
            await self.stat(key)
        except ObjectNotFound:
            return False
        return True

    async def delete(self, key: str) -> None:
        path = self._path(key)

        def delete() -> None:
            self._inside(key, path.parent)
            try:
                path.unlink()
            except _NOT_AN_OBJECT:
                return
            self._prune(path.parent)

        await self._run(key, delete)

    async def delete_prefix(self, prefix: str) -> int:
        if validate_prefix(prefix) == "":
            raise InvalidKey(prefix, "delete_prefix needs a non-empty prefix")
        return await self._run(prefix, self._delete_prefix, prefix)

    async def list(self, prefix: str = "") -> AsyncGenerator[ObjectInfo, None]:
        validate_prefix(prefix)
        infos = self._infos(prefix)
        try:
            while True:
                batch = await self._run(prefix, _take, infos, _LIST_BATCH)
                for info in batch:
                    yield info
                if len(batch) < _LIST_BATCH:
                    return
        finally:
            infos.close()

    async def download_to(self, key: str, path: Path) -> None:
        source = self._path(key)

        def download() -> None:
            fd = self._open(key, source)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                out, temp = _create_temp(path.parent)
                try:
                    try:
                        _copy_fds(fd, out)
                    finally:
                        os.close(out)
                    os.replace(temp, path)
                except BaseException:
                    _unlink_quietly(temp)
                    raise
            finally:
                os.close(fd)

        await self._run(key, download)

    # -- the blocking side -----------------------------------------------------------------

    async def _run(self, key: str, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn`` in the executor; ``OSError`` becomes ours here, and only here."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                self._executor, functools.partial(fn, *args, **kwargs)
            )
        except OSError as exc:
            if exc.errno == errno.ENAMETOOLONG:
                raise InvalidKey(key, "a segment is longer than the file system allows") from exc
            raise StorageError(f"local store failed on {key!r}: {exc}") from exc

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    def _inside(self, key: str, path: Path) -> None:
        real = os.path.realpath(path)
        root = str(self.root)
        if real != root and not real.startswith(root + os.sep):
            raise StorageError(f"{key!r} leads outside the store's root through a symlink")

    def _directory_inside(self, key: str, directory: Path) -> None:
        """:meth:`_inside` for an object's directory, remembered once it held: the store
        creates its directories itself and never turns one into a symlink, so a directory
        that resolved inside root keeps doing so (a bounded set; reads only)."""
        if directory in self._checked_directories:
            return
        self._inside(key, directory)
        if len(self._checked_directories) >= _CHECKED_DIRECTORIES:
            self._checked_directories.clear()
        self._checked_directories.add(directory)

    def _open(self, key: str, path: Path) -> int:
        """Open the object's file for reading; it must be a regular file inside root."""
        self._directory_inside(key, path.parent)
        try:
            fd = os.open(path, _READ_FLAGS)
        except _NOT_AN_OBJECT as exc:
            raise ObjectNotFound(key) from exc
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise StorageError(f"{key!r} is a symlink; the store does not follow it") from exc
            raise
        if not stat_module.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise ObjectNotFound(key)
        return fd

    def _put(
        self, key: str, path: Path, write: Callable[[BinaryIO], str], content_type: str | None
    ) -> None:
        self._inside(key, path.parent)
        for attempt in range(3):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, temp = _create_temp(path.parent)
                break
            except FileNotFoundError:
                # A concurrent delete pruned the directory between mkdir and open: again.
                if attempt == 2:
                    raise
        try:
            with open(fd, "wb") as out:
                etag = write(out)
                out.flush()
                if self.fsync:
                    os.fsync(fd)
                self._set_meta(fd, etag, content_type or guess_content_type(key))
            os.replace(temp, path)
        except BaseException:
            _unlink_quietly(temp)
            raise
        if self.fsync:
            _fsync_dir(path.parent)

    def _set_meta(self, fd: int, etag: str, content_type: str) -> None:
        if not self._xattrs:
            return
        try:
            os.setxattr(fd, _XATTR_ETAG, etag.encode())
            os.setxattr(fd, _XATTR_CONTENT_TYPE, content_type.encode())
        except OSError as exc:
            if exc.errno not in _NO_XATTRS:
                raise
            self._xattrs = False

    def _info(self, key: str, fd: int) -> ObjectInfo:
        st = os.fstat(fd)
        etag = _xattr(fd, _XATTR_ETAG) or f"{st.st_mtime_ns:x}-{st.st_size:x}"
        content_type = _xattr(fd, _XATTR_CONTENT_TYPE) or guess_content_type(key)
        modified = datetime.fromtimestamp(st.st_mtime_ns / 1e9, tz=UTC)
        return ObjectInfo(key, st.st_size, etag, content_type, modified)

    def _files(self, prefix: str) -> Iterator[tuple[str, str]]:
        """``(key, path)`` of every object whose key starts with ``prefix``, in key order."""
        directory = prefix.rpartition("/")[0]
        base = self.root / directory if directory else self.root
        self._inside(prefix, base)
        yield from self._walk(base, directory + "/" if directory else "", prefix)

    def _walk(self, directory: Path, key_prefix: str, prefix: str) -> Iterator[tuple[str, str]]:
        try:
            with os.scandir(directory) as scan:
                entries = builtins.list(scan)
        except (FileNotFoundError, NotADirectoryError):
            return
        named: builtins.list[tuple[bytes, os.DirEntry[str], bool]] = []
        for entry in entries:
            if entry.name.startswith(RESERVED_SEGMENT_START) or entry.is_symlink():
                continue
            is_dir = entry.is_dir(follow_symlinks=False)
            # Sorting "name/" for directories yields keys in S3's byte order in one pass.
            sort_name = entry.name + "/" if is_dir else entry.name
            named.append((sort_name.encode("utf-8", "surrogateescape"), entry, is_dir))
        named.sort(key=lambda item: item[0])
        for _, entry, is_dir in named:
            key = key_prefix + entry.name
            if is_dir:
                sub = key + "/"
                if sub.startswith(prefix) or prefix.startswith(sub):
                    yield from self._walk(Path(entry.path), sub, prefix)
            elif (
                key.startswith(prefix)
                and entry.is_file(follow_symlinks=False)
                and is_valid_key(key)
            ):
                yield key, entry.path

    def _infos(self, prefix: str) -> Generator[ObjectInfo, None, None]:
        for key, path in self._files(prefix):
            try:
                fd = os.open(path, _READ_FLAGS)
            except _NOT_AN_OBJECT:
                continue  # deleted since the directory was read
            try:
                yield self._info(key, fd)
            finally:
                os.close(fd)

    def _delete_prefix(self, prefix: str) -> int:
        removed = 0
        for _, path in self._files(prefix):
            try:
                os.unlink(path)
            except _NOT_AN_OBJECT:
                continue
            removed += 1
        directory = prefix.rpartition("/")[0]
        base = self.root / directory if directory else self.root
        for dirpath, _, _ in os.walk(base, topdown=False):
            relative = os.path.relpath(dirpath, self.root)
            if (relative + "/").startswith(prefix):
                with contextlib.suppress(OSError):
                    os.rmdir(dirpath)  # not empty: a write in flight, or objects outside
        self._prune(base)
        return removed

    def _prune(self, directory: Path) -> None:
        """Remove empty directories from ``directory`` up to (not including) the root."""
        while directory != self.root and self.root in directory.parents:
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent


def _take(items: Iterator[T], count: int) -> builtins.list[T]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == count:
            break
    return batch


def _xattr(fd: int, name: str) -> str | None:
    try:
        return os.getxattr(fd, name).decode()
    except OSError as exc:
        if exc.errno in _NO_XATTRS:
            return None
        raise


def _create_temp(directory: Path) -> tuple[int, Path]:
    temp = directory / f"{RESERVED_SEGMENT_START}-{secrets.token_hex(8)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW
    return os.open(temp, flags, 0o644), temp


def _unlink_quietly(path: Path) -> None:
    # Best-effort cleanup: the error that brought us here matters more.
    with contextlib.suppress(OSError):
        path.unlink()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_fds(source: int, target: int) -> None:
    """Copy ``source`` to ``target`` in the kernel where it can (sendfile), else in buffers."""
    offset = 0
    try:
        while sent := os.sendfile(target, source, offset, 8 * CHUNK_SIZE):
            offset += sent
        return
    except OSError as exc:
        if offset or exc.errno not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            raise
    while chunk := os.read(source, CHUNK_SIZE):
        view = memoryview(chunk)
        while view:
            view = view[os.write(target, view) :]
