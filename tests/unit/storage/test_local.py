"""What only the local store has to get right: files, directories, symlinks, xattrs."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from reelhouse.storage.errors import InvalidKey, ObjectNotFound, StorageError
from reelhouse.storage.local import LocalObjectStore


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "root")


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


async def test_objects_are_plain_files_at_local_path(store: LocalObjectStore) -> None:
    await store.put_bytes("a/b/c.m4s", b"segment")

    path = store.local_path("a/b/c.m4s")
    assert path == store.root / "a" / "b" / "c.m4s"
    assert path.read_bytes() == b"segment"
    assert oct(path.stat().st_mode & 0o777) == oct(0o644 & ~_umask())
    assert tree(store.root) == ["a", "a/b", "a/b/c.m4s"]  # no temporary file left


async def test_delete_and_delete_prefix_remove_empty_directories(store: LocalObjectStore) -> None:
    for key in ["e/a1/v1/x", "e/a1/v1/r/y", "e/a1/v2/x", "e/a2/x"]:
        await store.put_bytes(key, b"1")

    assert await store.delete_prefix("e/a1/v1/") == 2
    assert tree(store.root) == ["e", "e/a1", "e/a1/v2", "e/a1/v2/x", "e/a2", "e/a2/x"]
    await store.delete("e/a1/v2/x")
    assert tree(store.root) == ["e", "e/a2", "e/a2/x"]
    assert await store.delete_prefix("e/") == 1
    assert tree(store.root) == []


async def test_a_failed_write_leaves_the_old_object_and_no_temporary(
    store: LocalObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.put_bytes("k", b"old")

    def broken_replace(*_: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(StorageError) as caught:
        await store.put_bytes("k", b"new")

    assert isinstance(caught.value.__cause__, OSError)
    monkeypatch.undo()
    assert await store.get_bytes("k") == b"old"
    assert tree(store.root) == ["k"]


async def test_temporary_files_are_not_listed(store: LocalObjectStore) -> None:
    await store.put_bytes("d/k", b"x")
    (store.root / "d" / ".~rh-inflight.tmp").write_bytes(b"half")

    assert [info.key async for info in store.list()] == ["d/k"]
    assert await store.delete_prefix("d/") == 1
    assert (store.root / "d" / ".~rh-inflight.tmp").exists()


async def test_never_follows_a_symlink_out_of_root(store: LocalObjectStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"secret")
    (store.root / "escape").symlink_to(outside)
    (store.root / "linked").symlink_to(outside / "secret")

    for attempt in (
        store.get_bytes("escape/secret"),
        store.put_bytes("escape/new", b"x"),
        store.delete("escape/secret"),
        store.stat("linked"),
    ):
        with pytest.raises(StorageError) as caught:
            await attempt
        assert not isinstance(caught.value, ObjectNotFound)
    with pytest.raises(StorageError):
        store.local_path("escape/secret")
    assert [info.key async for info in store.list()] == []  # links are not objects
    with pytest.raises(StorageError):
        await store.delete_prefix("escape/")
    with pytest.raises(StorageError):
        [info async for info in store.list("escape/")]
    assert sorted(p.name for p in outside.iterdir()) == ["secret"]


async def test_without_xattrs_etag_and_type_are_derived(
    store: LocalObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_xattrs(*_: object) -> None:
        raise OSError(errno.ENOTSUP, "Operation not supported")

    monkeypatch.setattr(os, "setxattr", no_xattrs)
    await store.put_bytes("v1/master.m3u8", b"#EXTM3U\n", content_type="text/plain")
    first = await store.stat("v1/master.m3u8")
    st = store.local_path("v1/master.m3u8").stat()

    assert first.etag == f"{st.st_mtime_ns:x}-{st.st_size:x}"
    assert first.content_type == "application/vnd.apple.mpegurl"


async def test_a_segment_too_long_for_the_file_system(store: LocalObjectStore) -> None:
    with pytest.raises(InvalidKey):
        await store.put_bytes("a/" + "x" * 300, b"x")


async def test_without_fsync(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "nofsync", fsync=False)

    await store.put_bytes("k", b"x")

    assert await store.get_bytes("k") == b"x"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
