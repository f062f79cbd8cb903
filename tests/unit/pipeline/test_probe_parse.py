from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from reelhouse.pipeline.errors import InputRejected, ProbeFailed
from reelhouse.pipeline.ffmpeg import parse_encoders, parse_version
from reelhouse.pipeline.probe import (
    CONTAINER_ALLOWLIST,
    Keyframe,
    keyframes_argv,
    parse_keyframes,
    parse_probe,
    probe_argv,
    sniff_header,
)


@pytest.mark.parametrize(
    "head",
    [
        b"#EXTM3U\n#EXTINF:1,\nhttp://x/y.ts\n",
        b"\xef\xbb\xbf#EXTM3U\n",
        b"  ffconcat version 1.0\nfile 'a.mp4'\n",
        b'<?xml version="1.0"?><MPD>',
        b"v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\n",
    ],
)
def test_sniff_refuses_text_formats(head: bytes) -> None:
    with pytest.raises(InputRejected, match="text or playlist"):
        sniff_header(head)


def test_sniff_empty_and_media() -> None:
    with pytest.raises(InputRejected, match=r"^The input file is empty$"):
        sniff_header(b"")
    sniff_header(b"\x00\x00\x00\x20ftypisom")


def test_parse_ok() -> None:
    raw = {
        "status": "ok",
        "format_name": "matroska,webm",
        "duration": 4.0,
        "bit_rate": 1000,
        "video": [
            {
                "index": 0,
                "codec": "vp9",
                "decodable": True,
                "width": 640,
                "height": 360,
                "sample_aspect_ratio": None,
                "avg_frame_rate": [30000, 1001],
            }
        ],
        "audio": [
            {"index": 1, "codec": "opus", "decodable": True, "channels": 2, "sample_rate": 48000}
        ],
        "gop": None,
    }
    result = parse_probe(raw, 123)
    assert result.demuxer == "matroska"
    assert result.video[0].sample_aspect_ratio == 1
    assert result.video[0].frame_rate == Fraction(30000, 1001)
    assert result.audio[0].codec == "opus" and result.rotation == 0


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"status": "rejected", "reason": "format_not_allowed", "format": "hls"},
            "The input container format 'hls' is not supported",
        ),
        ({"status": "rejected", "reason": "unrecognized"}, "The input is not a recognized"),
    ],
)
def test_parse_rejected(raw: dict[str, object], message: str) -> None:
    with pytest.raises(InputRejected, match=message):
        parse_probe(raw, 1)


def test_parse_refuses_formats_outside_the_allowlist() -> None:
    with pytest.raises(ProbeFailed):
        parse_probe({"status": "ok", "format_name": "hls"}, 1)


def test_probe_argv_is_isolated() -> None:
    argv = probe_argv(Path("/data/in"), python="/py")
    assert argv[:2] == ["/py", "-I"]
    assert argv[-1] == "/data/in"
    formats = argv[argv.index("--formats") + 1].split(";")
    assert set(formats) == CONTAINER_ALLOWLIST
    assert "hls" not in argv[argv.index("--demuxers") + 1].split(",")


def test_keyframes_argv_runs_the_same_isolated_child() -> None:
    argv = keyframes_argv(Path("/data/in"), 12.5, window=1.0, python="/py")
    assert argv[:2] == ["/py", "-I"] and argv[-1] == "/data/in"
    assert argv[argv.index("--keyframes-near") + 1] == "12.500000"
    assert argv[argv.index("--window") + 1] == "1.000000"
    assert set(argv[argv.index("--formats") + 1].split(";")) == CONTAINER_ALLOWLIST
    assert "--scan" not in argv


def test_parse_keyframes_sorts_by_time() -> None:
    raw = {
        "status": "ok",
        "complete": True,
        "keyframes": [{"time": 3.0, "clean": True}, {"time": 2.0, "clean": False}],
    }
    assert parse_keyframes(raw) == (Keyframe(2.0, False), Keyframe(3.0, True))
    assert parse_keyframes({"status": "ok", "complete": True, "keyframes": []}) == ()


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ({"status": "rejected", "reason": "format_not_allowed"}, InputRejected),
        ({"status": "ok", "complete": False, "keyframes": []}, ProbeFailed),
        ({"status": "ok", "complete": True}, ProbeFailed),
        ({"status": "ok", "complete": True, "keyframes": [{"time": 1.0}]}, ProbeFailed),
        ({"status": "ok", "complete": True, "keyframes": [{"time": "x", "clean": 1}]}, ProbeFailed),
        ({"status": "crashed"}, ProbeFailed),
    ],
)
def test_parse_keyframes_refusals(raw: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_keyframes(raw)


def test_ffmpeg_output_parsing() -> None:
    assert parse_version("ffmpeg version n9.0.2 Copyright (c)\nbuilt with gcc") == "n9.0.2"
    assert parse_version("nonsense") == "unknown"
    video, audio = parse_encoders(
        " V..... = Video\n ------\n V....D libx264              H.264\n A....D aac   AAC\n"
    )
    assert video == {"libx264"} and audio == {"aac"}
