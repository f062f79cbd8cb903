from __future__ import annotations

from pathlib import Path

import pytest

from reelhouse.storage.errors import InvalidStorageURL
from reelhouse.storage.factory import store_from_url
from reelhouse.storage.local import LocalObjectStore
from reelhouse.storage.protocols import ObjectStore, StoreAbilities
from reelhouse.storage.s3 import S3ObjectStore


def s3_from_url(url: str, local_root: Path) -> ObjectStore:
    return store_from_url(
        url,
        local_root=local_root,
        endpoint_url="http://127.0.0.1:9",
        region="auto",
        access_key="id",
        secret_key="secret",
    )


@pytest.mark.parametrize("url", [None, ""])
def test_no_url_is_local_disk(url: str | None, tmp_path: Path) -> None:
    store = store_from_url(url, local_root=tmp_path / "objects", fsync=False)

    assert isinstance(store, LocalObjectStore)
    assert (store.root, store.fsync) == ((tmp_path / "objects").resolve(), False)
    assert StoreAbilities.of(store) == StoreAbilities(
        local_paths=True, presigning=False, multipart=False
    )


@pytest.mark.parametrize(
    ("url", "bucket", "prefix"),
    [
        ("s3://media", "media", ""),
        ("s3://media/", "media", ""),
        ("s3://media/reelhouse", "media", "reelhouse/"),
        ("s3://my.media-1/a/b/", "my.media-1", "a/b/"),
        ("s3://media/with%20space", "media", "with space/"),
    ],
)
def test_s3_url(url: str, bucket: str, prefix: str, tmp_path: Path) -> None:
    store = s3_from_url(url, tmp_path)

    assert isinstance(store, S3ObjectStore)
    assert (store.bucket, store.prefix) == (bucket, prefix)
    assert StoreAbilities.of(store) == StoreAbilities(
        local_paths=False, presigning=True, multipart=True
    )
    assert not (tmp_path / "objects").exists()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("/var/lib/reelhouse", "s3://bucket/prefix"),
        ("file:///var/lib/reelhouse", "not understood"),
        ("gs://media/x", "not understood"),
        ("s3://", "does not name a bucket"),
        ("s3:///prefix", "does not name a bucket"),
        ("s3://Media", "does not name a bucket"),
        ("s3://key:secret@media/x", "credentials"),
        ("s3://media:9000/x", "credentials or a port"),
        ("s3://media/x?region=eu", "query"),
        ("s3://media/../x", "invalid prefix"),
        ("s3://media/a\x00", "invalid prefix"),
    ],
)
def test_other_urls_are_refused_with_a_reason(url: str, says: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidStorageURL, match=says) as caught:
        s3_from_url(url, tmp_path)
    assert caught.value.code == "configuration_error"
