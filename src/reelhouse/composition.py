"""Concrete things both composition roots (the web server and the worker) build the same way
from the settings: the object store, the outbound policy, the FFmpeg binary."""

from __future__ import annotations

from reelhouse import outbound
from reelhouse.config import Settings
from reelhouse.storage.factory import store_from_url
from reelhouse.storage.protocols import ObjectStore


def object_store(settings: Settings) -> ObjectStore:
    return store_from_url(
        settings.storage_url,
        local_root=settings.objects_dir,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.aws_region,
        access_key=settings.aws_access_key_id,
        secret_key=settings.aws_secret_access_key,
        fsync=settings.upload_fsync,
    )


def outbound_policy(settings: Settings, *, max_bytes: int | None = None) -> outbound.Policy:
    return outbound.Policy(
        allow_hosts=outbound.AllowList.parse(settings.outbound_allow),
        allow_private=settings.outbound_allow_private,
        max_bytes=max_bytes or settings.fetch_max_bytes,
        total_timeout=settings.fetch_timeout,
    )
