"""Hostile and broken inputs: each becomes an errored asset with a specific message, nothing an
upload points at is ever opened (a canary file and a canary TCP listener stay untouched), and
the worker keeps working. Create-from-URL refuses every internal address form (SSRF)."""

from __future__ import annotations

import os
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .assets import asset_of_upload, wait_for_asset
from .server import ServerProcess
from .uploads_client import create_direct_upload

FTYP = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"


class Canary:
    """A TCP listener that records whether anything ever connected."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        port: int = self.sock.getsockname()[1]
        return port

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


@pytest.fixture(scope="module")
def canary() -> Iterator[Canary]:
    listener = Canary()
    yield listener
    listener.close()


@pytest.fixture(scope="module")
def canary_file(tmp_path_factory: pytest.TempPathFactory, clip) -> Path:
    """A real video whose atime is older than its mtime: any read moves the atime (relatime)."""
    path = tmp_path_factory.mktemp("canary") / "canary.mp4"
    path.write_bytes(clip("small").read_bytes())
    os.utime(path, (0, path.stat().st_mtime))
    return path


def oversized_matroska(source: Path, side: int) -> bytes:
    """``source`` (a 300x300 raw-video Matroska) with its header claiming side x side."""
    data = source.read_bytes()
    old_w, old_h = bytes([0xB0, 0x82, 0x01, 0x2C]), bytes([0xBA, 0x82, 0x01, 0x2C])
    size = side.to_bytes(2, "big")
    return data.replace(old_w, bytes([0xB0, 0x82]) + size).replace(
        old_h, bytes([0xBA, 0x82]) + size
    )


def bad_inputs(canary: Canary, canary_file: Path, clip) -> dict[str, tuple[bytes, str]]:
    small = clip("small").read_bytes()
    local_playlist = (
        f"#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nfile://{canary_file}\n#EXT-X-ENDLIST\n"
    )
    remote_playlist = (
        "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\n"
        f"http://127.0.0.1:{canary.port}/seg.ts\n#EXT-X-ENDLIST\n"
    )
    return {
        "zero bytes": (b"", "empty"),
        "text renamed .mp4": (b"just some notes, not a video\n" * 50, "not a recognized"),
        "truncated mp4": (small[: len(small) // 3], "not a recognized|could not be"),
        "random bytes behind ftyp": (FTYP + os.urandom(64 * 1024), "not a recognized"),
        "hls playlist to a local file": (local_playlist.encode(), "playlist file, not media"),
        "hls playlist to a loopback url": (remote_playlist.encode(), "playlist file, not media"),
        "ffconcat": (f"ffconcat version 1.0\nfile '{canary_file}'\n".encode(), "playlist file"),
        "8192x8192 frame": (oversized_matroska(clip("raw300"), 8192), "exceeds the 4096 limit"),
    }


CASES = [
    "zero bytes",
    "text renamed .mp4",
    "truncated mp4",
    "random bytes behind ftyp",
    "hls playlist to a local file",
    "hls playlist to a loopback url",
    "ffconcat",
    "8192x8192 frame",
]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_becomes_an_errored_asset(
    media_server: ServerProcess, canary: Canary, canary_file: Path, clip, case: str
) -> None:
    body, expected = bad_inputs(canary, canary_file, clip)[case]
    atime = canary_file.stat().st_atime
    with media_server.client() as api:
        upload = create_direct_upload(api)
        put = httpx.put(str(upload["url"]), content=body, timeout=30)
        assert put.status_code == 200, put.text
        asset = wait_for_asset(api, asset_of_upload(api, str(upload["id"])))
    assert asset["status"] == "errored", asset
    assert asset["errors"]["type"] == "invalid_input"
    message = asset["errors"]["messages"][0]
    assert re.search(expected, message), message
    assert "/" not in message.replace("N/A", "")  # never a filesystem path
    assert canary.connections == 0
    assert canary_file.stat().st_atime == atime


def test_worker_still_healthy_after_bad_inputs(media_server: ServerProcess, clip) -> None:
    with media_server.client() as api:
        upload = create_direct_upload(api)
        assert httpx.put(str(upload["url"]), content=clip("small").read_bytes()).status_code == 200
        asset = wait_for_asset(api, asset_of_upload(api, str(upload["id"])))
    assert asset["status"] == "ready", asset


SSRF_URLS = [
    "http://127.0.0.1:{port}/x.mp4",
    "http://localhost:{port}/x.mp4",
    "http://[::1]:{port}/x.mp4",
    "http://[::ffff:127.0.0.1]:{port}/x.mp4",
    "http://[::ffff:7f00:1]:{port}/x.mp4",
    "http://2130706433:{port}/x.mp4",
    "http://0x7f.1:{port}/x.mp4",
    "http://0177.0.0.1:{port}/x.mp4",
    "http://[64:ff9b::7f00:1]:{port}/x.mp4",
    "http://[2002:7f00:1::]:{port}/x.mp4",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.1.2.3/x.mp4",
    "http://100.64.0.1/x.mp4",
    "http://[fd00:ec2::254]/x.mp4",
]


@pytest.mark.parametrize("template", SSRF_URLS)
def test_create_from_url_refuses_internal_addresses(
    media_server: ServerProcess, canary: Canary, template: str
) -> None:
    url = template.format(port=canary.port)
    with media_server.client() as api:
        created = api.post(
            "/video/v1/assets", json={"input": [{"url": url}], "playback_policy": ["public"]}
        )
        assert created.status_code == 201, created.text
        asset = wait_for_asset(api, created.json()["data"]["id"], timeout=60)
    assert asset["status"] == "errored", asset
    assert re.search("not allowed|not valid", asset["errors"]["messages"][0])
    assert canary.connections == 0


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x.mp4", "gopher://x"])
def test_create_from_url_needs_http(media_server: ServerProcess, url: str) -> None:
    with media_server.client() as api:
        created = api.post("/video/v1/assets", json={"input": [{"url": url}]})
    assert created.status_code == 400
    assert created.json()["error"]["type"] == "invalid_parameters"
