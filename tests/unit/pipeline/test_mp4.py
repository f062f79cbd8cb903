"""Static renditions: which rung each Mux file name is made from, and the remux argv. Pure."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelhouse.pipeline import mp4
from reelhouse.pipeline.mp4 import FileRecipe, Source, VideoRung


def ladder(*short_sides: int, passthrough_top: bool = False) -> list[VideoRung]:
    """Landscape 16:9 rungs named for their short side, highest first."""
    return [
        VideoRung(f"{s}p", s * 16 // 9 // 2 * 2, s, passthrough_top and i == 0)
        for i, s in enumerate(short_sides)
    ]


UHD = ladder(2160, 1440, 1080, 720, 540, 360, 240)
HD = ladder(720, 540, 360, 240)
SMALL = ladder(300, 240)


@pytest.mark.parametrize(
    ("name", "rungs", "expected"),
    [
        ("highest.mp4", UHD, "2160p"),
        ("highest.mp4", HD, "720p"),
        ("capped-1080p.mp4", UHD, "1080p"),  # the top is above 1080p: the 1080p rung
        ("capped-1080p.mp4", HD, "720p"),
        ("high.mp4", UHD, "1080p"),
        ("medium.mp4", UHD, "720p"),
        ("low.mp4", UHD, "360p"),
        ("low.mp4", SMALL, "300p"),
        ("720p.mp4", UHD, "720p"),
        ("1440p.mp4", UHD, "1440p"),
        ("2160p.mp4", HD, None),  # never upscaled: skipped
        ("480p.mp4", UHD, None),  # no such rung: skipped
        ("270p.mp4", HD, None),
    ],
)
def test_pick_rung(name: str, rungs: list[VideoRung], expected: str | None) -> None:
    picked = mp4.pick_rung(name, rungs)
    assert (picked.name if picked else None) == expected


def test_portrait_rungs_are_matched_by_their_short_side() -> None:
    portrait = [VideoRung("720p", 720, 1280), VideoRung("360p", 360, 640)]
    assert mp4.pick_rung("720p.mp4", portrait) == portrait[0]
    assert mp4.pick_rung("low.mp4", portrait) == portrait[1]


@pytest.mark.parametrize(
    ("name", "rungs", "has_audio", "expected"),
    [
        ("audio.m4a", HD, True, FileRecipe("audio.m4a", None, True)),
        ("audio.m4a", HD, False, None),
        ("audio.m4a", [], True, FileRecipe("audio.m4a", None, True)),
        ("highest.mp4", HD, False, FileRecipe("highest.mp4", HD[0], False)),
        ("highest.mp4", [], True, None),  # an audio-only asset has no video file
        ("capped-1080p.mp4", UHD, True, FileRecipe("capped-1080p.mp4", UHD[2], True)),
    ],
)
def test_recipe(
    name: str, rungs: list[VideoRung], has_audio: bool, expected: FileRecipe | None
) -> None:
    assert mp4.recipe(name, rungs, has_audio) == expected


def test_recipe_refuses_other_names() -> None:
    with pytest.raises(ValueError, match="not a static rendition name"):
        mp4.recipe("../etc/passwd", HD, True)


@pytest.mark.parametrize(
    ("setting", "rungs", "has_audio", "expected"),
    [
        ("standard", UHD, True, ["low.mp4", "medium.mp4", "high.mp4"]),
        ("standard", HD, True, ["low.mp4", "medium.mp4"]),
        ("standard", ladder(360, 240), True, ["low.mp4"]),
        ("standard", [], True, ["audio.m4a"]),
        ("capped-1080p", UHD, True, ["capped-1080p.mp4"]),
        ("audio-only", HD, True, ["audio.m4a"]),
        ("audio-only,capped-1080p", HD, True, ["audio.m4a", "capped-1080p.mp4"]),
        ("none", HD, True, []),
    ],
)
def test_standard_names(
    setting: str, rungs: list[VideoRung], has_audio: bool, expected: list[str]
) -> None:
    assert mp4.standard_names(setting, rungs, has_audio) == expected


@pytest.mark.parametrize(
    ("resolution", "name"),
    [("highest", "highest.mp4"), ("audio-only", "audio.m4a"), ("1080p", "1080p.mp4")],
)
def test_file_name_and_back(resolution: str, name: str) -> None:
    assert mp4.file_name(resolution) == name
    assert mp4.resolution_of(name) == resolution
    assert name in mp4.STATIC_NAMES


def test_legacy_names_have_no_resolution() -> None:
    assert mp4.resolution_of("capped-1080p.mp4") is None
    assert mp4.resolution_of("low.mp4") is None
    with pytest.raises(ValueError):
        mp4.file_name("4320p")


@pytest.mark.parametrize(
    ("short", "tier"),
    [(None, "audio-only"), (240, "720p"), (720, "720p"), (1080, "1080p"), (2160, "2160p")],
)
def test_resolution_tier(short: int | None, tier: str) -> None:
    assert mp4.resolution_tier(short) == tier


VIDEO = Source(Path("/scratch/720p.src.mp4"), "mov", "v:0")
AUDIO = Source(Path("/scratch/audio.src.mp4"), "mov", "a:0")
HEAD = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
TAIL = ["-c", "copy", "-sn", "-dn", "-map_metadata", "-1", "-map_chapters", "-1"]
MP4_OUT = ["-movflags", "+faststart", "-f", "mp4", "file:/out/x.mp4"]
M4A_OUT = ["-movflags", "+faststart", "-f", "ipod", "file:/out/x.mp4"]
SOURCE_IN = ["-f", "matroska", "-protocol_whitelist", "file", "-i", "file:/uploads/abc"]


def _in(source: Source) -> list[str]:
    return ["-f", source.demuxer, "-protocol_whitelist", "file", "-i", f"file:{source.path}"]


@pytest.mark.parametrize(
    ("video", "audio", "expected"),
    [
        (
            VIDEO,
            AUDIO,
            [*HEAD, *_in(VIDEO), *_in(AUDIO), "-map", "0:v:0", "-map", "1:a:0", *TAIL, *MP4_OUT],
        ),
        (
            VIDEO,
            None,
            [*HEAD, *_in(VIDEO), "-map", "0:v:0", *TAIL, *MP4_OUT],
        ),
        (
            None,
            AUDIO,
            [*HEAD, *_in(AUDIO), "-map", "0:a:0", *TAIL, *M4A_OUT],
        ),
        (
            Source(Path("/uploads/abc"), "matroska", "0"),
            AUDIO,
            [*HEAD, *SOURCE_IN, *_in(AUDIO), "-map", "0:0", "-map", "1:a:0", *TAIL, *MP4_OUT],
        ),
    ],
)
def test_remux_argv(video: Source | None, audio: Source | None, expected: list[str]) -> None:
    argv = mp4.remux_argv("ffmpeg", Path("/out/x.mp4"), video=video, audio=audio)
    assert argv == expected
    assert "-c:v" not in argv and "libx264" not in argv  # copied, never re-encoded


def test_remux_needs_an_input() -> None:
    with pytest.raises(ValueError):
        mp4.remux_argv("ffmpeg", Path("/out/x.mp4"), video=None, audio=None)


@pytest.mark.parametrize(("duration", "timeout"), [(None, 60.0), (30.0, 60.0), (7200.0, 720.0)])
def test_remux_timeout(duration: float | None, timeout: float) -> None:
    assert mp4.remux_timeout(duration) == timeout
