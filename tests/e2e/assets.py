"""Uploading media and waiting for assets, as an app backend would."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
from tusclient import client as tus_client

from .server import ServerProcess
from .uploads_client import create_direct_upload

SECRET = "whsec-e2e-0123456789"


def wait_for_asset(api: httpx.Client, asset_id: str, timeout: float = 180.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        asset: dict[str, Any] = api.get(f"/video/v1/assets/{asset_id}").json()["data"]
        if asset["status"] != "preparing":
            return asset
        time.sleep(0.5)
    raise AssertionError(f"asset {asset_id} still preparing after {timeout} s")


def asset_of_upload(api: httpx.Client, upload_id: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        upload = api.get(f"/video/v1/uploads/{upload_id}").json()["data"]
        if upload.get("asset_id"):
            return str(upload["asset_id"])
        time.sleep(0.2)
    raise AssertionError(f"upload {upload_id} has no asset")


def tus_upload(url: str, path: Path) -> None:
    uploader = tus_client.TusClient(url).uploader(
        str(path), chunk_size=1 << 20, metadata={"filename": path.name}
    )
    uploader.upload()


def public_id(asset: dict[str, Any]) -> str:
    """The asset's first public playback id."""
    return str(next(p["id"] for p in asset["playback_ids"] if p["policy"] == "public"))


def add_signed_playback_id(server: ServerProcess, asset_id: str) -> str:
    """A new signed playback id of the asset, made through the API."""
    with server.client() as api:
        created = api.post(f"/video/v1/assets/{asset_id}/playback-ids", json={"policy": "signed"})
        assert created.status_code == 201, created.text
    return str(created.json()["data"]["id"])


def upload_and_wait(server: ServerProcess, path: Path) -> dict[str, Any]:
    with server.client() as api:
        upload = create_direct_upload(api, new_asset_settings={"playback_policy": ["public"]})
        tus_upload(str(upload["url"]), path)
        asset_id = asset_of_upload(api, str(upload["id"]))
        return wait_for_asset(api, asset_id)
