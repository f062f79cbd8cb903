"""A worker killed with SIGKILL in the middle of an encode: no FFmpeg outlives it, the job is
picked up again after the stall timeout, and the asset still becomes ready. Also the happy
path of create-from-URL, from a host the operator trusts."""

from __future__ import annotations

import functools
import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from .assets import asset_of_upload, wait_for_asset
from .server import ServerProcess
from .uploads_client import create_direct_upload


def ffmpeg_processes_for(asset_id: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if "ffmpeg" in cmdline and asset_id in cmdline:
            found.append(proc)
    return found


@pytest.fixture
def media_files(clip) -> Iterator[str]:
    """A plain HTTP server on loopback serving the generated clips."""
    folder = clip("small").parent
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.slow
def test_worker_killed_mid_encode_still_ends_ready(data_dir: Path, clip) -> None:
    server = ServerProcess(
        data_dir,
        extra_env={
            "REELHOUSE_WORKER_STALLED_SECONDS": "3",
            "REELHOUSE_PASSTHROUGH_TOP_RUNG": "false",
            "REELHOUSE_ENCODE_PRESET": "medium",
        },
    )
    try:
        server.start()
        with server.client() as api:
            upload = create_direct_upload(api)
            put = httpx.put(str(upload["url"]), content=clip("lesson").read_bytes(), timeout=60)
            assert put.status_code == 200
            asset_id = asset_of_upload(api, str(upload["id"]))
            deadline = time.monotonic() + 60
            while not ffmpeg_processes_for(asset_id):
                assert time.monotonic() < deadline, "the encode never started"
                time.sleep(0.1)
            time.sleep(1.0)
            assert api.get(f"/video/v1/assets/{asset_id}").json()["data"]["status"] == "preparing"
        server.kill9()
        deadline = time.monotonic() + 10
        while ffmpeg_processes_for(asset_id):
            assert time.monotonic() < deadline, "FFmpeg outlived its worker"
            time.sleep(0.1)
        server.start()
        with server.client() as api:
            asset = wait_for_asset(api, asset_id, timeout=300)
        assert asset["status"] == "ready", asset
        assert asset["resolution_tier"] == "720p"
    finally:
        server.stop()


def test_create_from_url_of_a_trusted_host(data_dir: Path, media_files: str) -> None:
    server = ServerProcess(data_dir, extra_env={"REELHOUSE_OUTBOUND_ALLOW": "127.0.0.1"})
    try:
        server.start()
        with server.client() as api:
            created = api.post(
                "/video/v1/assets",
                json={
                    "input": [{"url": f"{media_files}/small.mp4"}],
                    "playback_policy": ["public"],
                },
            )
            assert created.status_code == 201, created.text
            asset = wait_for_asset(api, created.json()["data"]["id"])
            assert asset["status"] == "ready", asset
            assert asset["ingest_type"] == "on_demand_url"
            info = api.get(f"/video/v1/assets/{asset['id']}/input-info").json()["data"]
        assert info[0]["settings"]["url"].endswith("/small.mp4")
        assert {t["type"] for t in info[0]["file"]["tracks"]} == {"video", "audio"}
    finally:
        server.stop()
