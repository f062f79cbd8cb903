"""Stream URL shapes: what is a playback id, which file paths may be served."""

from __future__ import annotations

import pytest

from reelhouse.delivery.errors import MalformedPlaybackId, PlaybackNotFound
from reelhouse.delivery.paths import (
    FileRequest,
    Manifest,
    ManifestRequest,
    parse_file_path,
    parse_manifest_name,
)

PID = "pb0123456789abcdefXYZ"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (f"{PID}.m3u8", ManifestRequest(PID, Manifest.HLS)),
        (f"{PID}.mpd", ManifestRequest(PID, Manifest.DASH)),
        (PID, ManifestRequest(PID, Manifest.HLS)),
        (f"{PID}.m3u", PlaybackNotFound),
        (f"{PID}.mp4", PlaybackNotFound),
        ("short.m3u8", MalformedPlaybackId),
        ("x" * 65 + ".m3u8", MalformedPlaybackId),
        (f"{PID[:-1]}-.m3u8", MalformedPlaybackId),
        (f"{PID}.x.m3u8", MalformedPlaybackId),
        (".m3u8", MalformedPlaybackId),
    ],
)
def test_parse_manifest_name(name: str, expected: object) -> None:
    if isinstance(expected, ManifestRequest):
        assert parse_manifest_name(name) == expected
    else:
        with pytest.raises(expected):  # type: ignore[call-overload]
            parse_manifest_name(name)


@pytest.mark.parametrize(
    ("rest", "expected"),
    [
        ("v1/720p/index.m3u8", FileRequest(1, "720p/index.m3u8")),
        ("v12/720p/init_0.mp4", FileRequest(12, "720p/init_0.mp4")),
        ("v3/audio/seg_00001.m4s", FileRequest(3, "audio/seg_00001.m4s")),
        ("v1/static/highest.mp4", FileRequest(1, "static/highest.mp4")),
        ("v1/master.m3u8", FileRequest(1, "master.m3u8")),
        ("v1/a/b/c/d.M4S", FileRequest(1, "a/b/c/d.M4S")),
        ("v0/720p/index.m3u8", None),  # versions start at 1
        ("v01/720p/index.m3u8", None),
        ("v1234567890/x.m4s", None),
        ("1/720p/index.m3u8", None),
        ("V1/720p/index.m3u8", None),
        ("v1", None),
        ("v1/", None),
        ("v1/../v2/x.m4s", None),
        ("v1/720p/../../x.m4s", None),
        ("v1/./x.m4s", None),
        ("v1/.~rh-tmp.m4s", None),  # the local store's temporary files
        ("v1/.hidden.m4s", None),
        ("v1/720p//seg.m4s", None),
        ("v1/720p/seg.m4s/", None),
        ("v1/seg 1.m4s", None),
        ("v1/seg%201.m4s", None),
        ("v1/a\\b.m4s", None),
        ("v1/séance.m4s", None),
        ("v1/seg\x00.m4s", None),
        ("v1/a/b/c/d/e.m4s", None),  # deeper than any output layout
        ("v1/" + "a" * 300 + ".m4s", None),
        ("v1/manifest.mpd", None),  # served only through /stream/{id}.mpd
        ("v1/source", None),
        ("v1/x.exe", None),
        ("v1/m4s", None),
    ],
)
def test_parse_file_path(rest: str, expected: FileRequest | None) -> None:
    if expected is None:
        with pytest.raises(PlaybackNotFound):
            parse_file_path(rest)
    else:
        assert parse_file_path(rest) == expected


@pytest.mark.parametrize(
    ("path", "playlist", "extension"),
    [("720p/index.m3u8", True, "m3u8"), ("a/INDEX.M3U8", True, "m3u8"), ("x.m4s", False, "m4s")],
)
def test_file_request_kind(path: str, playlist: bool, extension: str) -> None:
    request = FileRequest(1, path)
    assert request.is_playlist is playlist and request.extension == extension
