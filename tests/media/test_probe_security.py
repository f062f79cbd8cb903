"""Hostile inputs are refused before any referenced resource is opened."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from reelhouse.pipeline import runner
from reelhouse.pipeline.errors import InputRejected
from reelhouse.pipeline.probe import parse_probe, probe, probe_argv

Clip = Callable[[str], Path]


@pytest.fixture
def canary_port() -> Iterator[tuple[int, socket.socket]]:
    """A loopback listener nothing should ever connect to."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    yield server.getsockname()[1], server
    server.close()


def assert_no_connection(server: socket.socket) -> None:
    with pytest.raises(BlockingIOError):
        server.accept()


@pytest.fixture
def canary_file(tmp_path: Path) -> Path:
    canary = tmp_path / "secret.txt"
    canary.write_text("DB_PASSWORD=hunter2\n")
    os.utime(canary, (1_000_000_000, 1_000_000_000))
    return canary


def playlist(target: str) -> str:
    return f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n{target}\n#EXT-X-ENDLIST\n"


async def rejected(path: Path) -> InputRejected:
    with pytest.raises(InputRejected) as caught:
        await probe(path)
    assert caught.value.type == "invalid_input"
    assert str(path.parent) not in caught.value.message
    return caught.value


async def test_hls_playlist_renamed_mp4(
    tmp_path: Path, canary_file: Path, canary_port: tuple[int, socket.socket]
) -> None:
    port, server = canary_port
    upload = tmp_path / "upload.mp4"
    upload.write_text(playlist(f"file://{canary_file}") + playlist(f"http://127.0.0.1:{port}/x.ts"))
    error = await rejected(upload)
    assert error.message == "The input is a text or playlist file, not media"
    assert canary_file.stat().st_atime == 1_000_000_000
    assert canary_file.read_text() == "DB_PASSWORD=hunter2\n"
    assert_no_connection(server)


async def test_child_refuses_playlists_even_without_the_sniff(
    tmp_path: Path, clip: Clip, canary_port: tuple[int, socket.socket]
) -> None:
    """Second layer: the child's format allowlist stops an .m3u8 the header check let through."""
    port, server = canary_port
    sibling = tmp_path / "other_user.mp4"
    sibling.write_bytes(clip("small").read_bytes())
    os.utime(sibling, (1_000_000_000, 1_000_000_000))
    for name, text in [
        ("x.m3u8", playlist(f"http://127.0.0.1:{port}/x.ts")),
        ("y.m3u8", playlist("other_user.mp4")),
        ("z.mp4", "ffconcat version 1.0\nfile 'other_user.mp4'\n"),
    ]:
        path = tmp_path / name
        path.write_text(text)
        done = await runner.run(probe_argv(path), timeout=30)
        with pytest.raises(InputRejected):
            parse_probe(json.loads(done.stdout), path.stat().st_size)
    assert sibling.stat().st_atime == 1_000_000_000
    assert_no_connection(server)


async def test_ffconcat_renamed_mp4(tmp_path: Path, canary_file: Path) -> None:
    upload = tmp_path / "upload.mp4"
    upload.write_text(f"ffconcat version 1.0\nfile '{canary_file}'\n")
    await rejected(upload)
    assert canary_file.stat().st_atime == 1_000_000_000


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The input file is empty"),
        (b"hello, I am not a video\n" * 10, "The input is not a recognized video or audio file"),
        (os.urandom(64 * 1024), "The input is not a recognized video or audio file"),
        (b'<?xml version="1.0"?><MPD><BaseURL>http://x/</BaseURL></MPD>', "The input is a text"),
    ],
)
async def test_garbage(tmp_path: Path, content: bytes, message: str) -> None:
    upload = tmp_path / "upload.mp4"
    upload.write_bytes(content)
    assert (await rejected(upload)).message.startswith(message)
