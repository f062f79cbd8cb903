"""An object store from its URL: the one switch between backends.

Composition roots call :func:`store_from_url` with values from the settings; nothing else
branches on where objects live.
"""

from __future__ import annotations

import re
import urllib.parse
from concurrent.futures import Executor
from pathlib import Path

from reelhouse.storage.errors import InvalidKey, InvalidStorageURL
from reelhouse.storage.local import LocalObjectStore
from reelhouse.storage.protocols import ObjectStore

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def store_from_url(
    url: str | None,
    *,
    local_root: Path,
    endpoint_url: str | None = None,
    region: str | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
    fsync: bool = True,
    executor: Executor | None = None,
) -> ObjectStore:
    """``None`` (or ``""``): files under ``local_root``. ``s3://bucket/prefix``: that bucket,
    objects under ``prefix`` (optional), through ``endpoint_url`` when it is not AWS.
    Anything else raises :class:`InvalidStorageURL`."""
    if not url:
        return LocalObjectStore(local_root, fsync=fsync, executor=executor)
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "s3":
        raise InvalidStorageURL(
            f"REELHOUSE_STORAGE_URL {url!r} is not understood: leave it unset for local disk, "
            "or use s3://bucket/prefix (with REELHOUSE_S3_ENDPOINT_URL for MinIO, R2, ...)"
        )
    if "@" in parts.netloc or ":" in parts.netloc:
        raise InvalidStorageURL(
            f"REELHOUSE_STORAGE_URL {url!r} holds credentials or a port: use s3://bucket/prefix, "
            "with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and REELHOUSE_S3_ENDPOINT_URL"
        )
    if not _BUCKET.match(parts.netloc):
        raise InvalidStorageURL(
            f"REELHOUSE_STORAGE_URL {url!r} does not name a bucket: use s3://bucket/prefix, "
            "where bucket is 3 to 63 lowercase letters, digits, dots and hyphens"
        )
    if parts.query or parts.fragment:
        raise InvalidStorageURL(
            f"REELHOUSE_STORAGE_URL {url!r} has a query or fragment; use s3://bucket/prefix"
        )
    # boto3 is imported only by deployments that use S3.
    from reelhouse.storage.s3 import S3ObjectStore

    try:
        return S3ObjectStore(
            parts.netloc,
            urllib.parse.unquote(parts.path),
            endpoint_url=endpoint_url,
            region=region,
            access_key=access_key,
            secret_key=secret_key,
            executor=executor,
        )
    except InvalidKey as exc:
        raise InvalidStorageURL(
            f"REELHOUSE_STORAGE_URL {url!r} has an invalid prefix: {exc.reason}"
        ) from exc
