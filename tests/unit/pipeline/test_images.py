"""Image parameters, filters, argv and storyboard layout: pure tables."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from reelhouse.pipeline import images
from reelhouse.pipeline.images import (
    AnimatedParams,
    FitMode,
    InvalidImageParameter,
    ThumbnailParams,
    animated_argv,
    params_hash,
    parse_animated,
    parse_thumbnail,
    pick_rendition,
    plan_storyboard,
    render_json,
    render_vtt,
    segment_window,
    storyboard_argv,
    thumbnail_argv,
)
from reelhouse.pipeline.playlists import MediaPlaylist, MediaSegment

SOURCE = Path("/data/in/window.mp4")
OUT = Path("/data/out/image.jpg")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"width": "0"}, "width must be a whole number between 1 and 2160, not '0'"),
        ({"width": "2161"}, "width must be a whole number between 1 and 2160, not '2161'"),
        ({"height": "1.5"}, "height must be a whole number between 1 and 2160, not '1.5'"),
        ({"width": "\u00b2"}, "width must be a whole number between 1 and 2160, not '\u00b2'"),
        ({"time": "-2"}, "time must be a number between 0 and 1e+09, not '-2'"),
        ({"time": "nan"}, "time must be a number between 0 and 1e+09, not 'nan'"),
        ({"time": "soon"}, "time must be a number between 0 and 1e+09, not 'soon'"),
        ({"rotate": "45"}, "rotate must be one of 0, 90, 180, 270, not '45'"),
        (
            {"fit_mode": "zoom"},
            "fit_mode must be one of preserve, stretch, crop, smartcrop, pad, not 'zoom'",
        ),
        ({"flip_h": "sideways"}, "flip_h must be true or false, not 'sideways'"),
    ],
)
def test_thumbnail_refusals_name_the_parameter_and_range(
    query: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidImageParameter) as caught:
        parse_thumbnail(query, "jpg", 60.0)
    assert caught.value.message == message


def test_thumbnail_defaults_to_the_middle_and_clamps_time() -> None:
    assert parse_thumbnail({}, "jpg", 60.0) == ThumbnailParams(
        30.0, None, None, 0, FitMode.PRESERVE, False, False, "jpg"
    )
    assert parse_thumbnail({"time": "500"}, "png", 60.0).time == pytest.approx(59.9)
    assert parse_thumbnail({"time": "1", "token": "x", "flip_v": ""}, "webp", 2.0).flip_v
    with pytest.raises(InvalidImageParameter):
        parse_thumbnail({}, "gif", 60.0)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"start": "0", "end": "10.5"}, "end - start must be between 0.25 and 10 seconds"),
        ({"start": "3", "end": "3.1"}, "end - start must be between 0.25 and 10 seconds"),
        ({"start": "5", "end": "1"}, "end - start must be between 0.25 and 10 seconds"),
        ({"width": "641"}, "width must be a whole number between 1 and 640"),
        ({"height": "700"}, "height must be a whole number between 1 and 640"),
        ({"fps": "31"}, "fps must be a whole number between 1 and 30"),
        ({"start": "-1"}, "start must be a number between 0"),
    ],
)
def test_animated_refusals(query: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidImageParameter) as caught:
        parse_animated(query, "gif", 60.0)
    assert caught.value.message.startswith(message)


def test_animated_defaults_and_clamping() -> None:
    assert parse_animated({}, "gif", 60.0) == AnimatedParams(0.0, 5.0, 320, None, 15, "gif")
    assert parse_animated({"height": "100"}, "webp", 60.0).width is None
    short = parse_animated({"start": "1", "end": "6"}, "gif", 2.0)
    assert (short.start, short.end) == (1.0, 2.0)
    late = parse_animated({"start": "50", "end": "55"}, "gif", 2.0)
    assert (late.start, late.end) == (1.75, 2.0)


def test_params_hash_depends_on_normalised_values_and_version() -> None:
    a = parse_thumbnail({"time": "1", "width": "100"}, "jpg", 10.0)
    b = parse_thumbnail({"width": "100", "time": "1.0000", "fit_mode": "preserve"}, "jpg", 10.0)
    assert params_hash("thumbnail", a, 1) == params_hash("thumbnail", b, 1)
    assert params_hash("thumbnail", a, 1) != params_hash("thumbnail", a, 2)
    assert re.fullmatch(r"[0-9a-f]{32}", params_hash("thumbnail", a, 1))


@pytest.mark.parametrize(
    ("width", "height", "fit", "steps"),
    [
        (
            None,
            None,
            FitMode.PRESERVE,
            ["scale='min(iw,2160)':'min(ih,2160)':force_original_aspect_ratio=decrease"],
        ),
        (320, None, FitMode.CROP, ["scale=320:-2"]),
        (None, 90, FitMode.PAD, ["scale=-2:90"]),
        (200, 100, FitMode.STRETCH, ["scale=200:100"]),
        (200, 100, FitMode.PRESERVE, ["scale=200:100:force_original_aspect_ratio=decrease"]),
        (
            200,
            100,
            FitMode.CROP,
            ["scale=200:100:force_original_aspect_ratio=increase", "crop=200:100"],
        ),
        (
            200,
            100,
            FitMode.SMARTCROP,
            ["scale=200:100:force_original_aspect_ratio=increase", "crop=200:100"],
        ),
        (
            200,
            100,
            FitMode.PAD,
            [
                "scale=200:100:force_original_aspect_ratio=decrease",
                "pad=200:100:(ow-iw)/2:(oh-ih)/2:color=black",
            ],
        ),
    ],
)
def test_size_filters(
    width: int | None, height: int | None, fit: FitMode, steps: list[str]
) -> None:
    assert images.size_filters(width, height, fit) == steps


def test_thumbnail_filter_rotates_first_and_flips_last() -> None:
    params = ThumbnailParams(1.0, 100, None, 90, FitMode.PRESERVE, True, True, "jpg")
    assert images.thumbnail_filter(params) == "transpose=clock,scale=100:-2,setsar=1,vflip,hflip"
    upside = ThumbnailParams(1.0, None, 50, 180, FitMode.PRESERVE, False, False, "png")
    assert images.thumbnail_filter(upside) == "hflip,vflip,scale=-2:50,setsar=1"


def test_thumbnail_argv_seeks_before_the_input_and_forces_the_format() -> None:
    params = parse_thumbnail({"width": "320"}, "jpg", 10.0)
    argv = thumbnail_argv("/bin/ffmpeg", SOURCE, "mp4", 2.5, params, OUT)
    assert argv[0] == "/bin/ffmpeg" and "-nostdin" in argv
    assert all(isinstance(a, str) for a in argv)
    i = argv.index("-i")
    assert argv[i + 1] == f"file:{SOURCE}"
    assert argv.index("-ss") < i and argv[argv.index("-ss") + 1] == "2.500"
    assert argv[argv.index("-f") + 1] == "mp4" and argv.index("-f") < i
    assert argv[argv.index("-protocol_whitelist") + 1] == "file"
    assert argv[argv.index("-frames:v") + 1] == "1"
    assert argv[-1] == f"file:{OUT}"
    assert "-an" in argv and "mjpeg" in argv


def test_no_seek_at_zero() -> None:
    params = parse_thumbnail({"time": "0"}, "png", 10.0)
    assert "-ss" not in thumbnail_argv("ffmpeg", SOURCE, "mov", 0.0, params, OUT)


@pytest.mark.parametrize(("fmt", "codec"), [("gif", "gif"), ("webp", "libwebp_anim")])
def test_animated_argv(fmt: str, codec: str) -> None:
    params = parse_animated({"start": "1", "end": "3", "fps": "10"}, fmt, 60.0)
    argv = animated_argv("ffmpeg", SOURCE, "mp4", 1.0, params, OUT)
    assert argv.index("-ss") < argv.index("-i")
    assert argv[argv.index("-t") + 1] == "2.000"
    graph = argv[argv.index("-filter_complex") + 1]
    assert graph.startswith("[0:v:0]fps=10,scale=320:-2,setsar=1")
    assert ("palettegen" in graph) is (fmt == "gif")
    assert argv[argv.index("-c:v") + 1] == codec
    assert argv[argv.index("-loop") + 1] == "0"


def test_storyboard_plan_follows_mux_tile_counts() -> None:
    short = plan_storyboard(600.0, 1920, 1080)
    assert (short.count, short.interval, short.tile_height, short.columns) == (50, 12.0, 144, 10)
    assert short.keyframes_only and short.rows == 5
    long = plan_storyboard(3600.0, 1280, 720)
    assert (long.count, long.interval) == (100, 36.0)
    tiny = plan_storyboard(2.0, 640, 360)
    assert (tiny.count, tiny.interval, tiny.columns, tiny.rows) == (2, 1.0, 2, 1)
    assert not tiny.keyframes_only
    portrait = plan_storyboard(30.0, 720, 1280)
    assert portrait.tile_height == 456


def test_storyboard_tiles_cover_the_duration_inside_the_sprite() -> None:
    layout = plan_storyboard(125.0, 1280, 720)
    tiles = layout.tiles()
    assert tiles[0][:2] == (0.0, 2.5) and tiles[-1][1] == 125.0
    assert all(a[1] == b[0] for a, b in itertools.pairwise(tiles))
    width, height = layout.columns * layout.tile_width, layout.rows * layout.tile_height
    assert all(x + 256 <= width and y + 144 <= height for _, _, x, y in tiles)


def test_vtt_and_json_rendering() -> None:
    layout = plan_storyboard(3.5, 640, 360)
    vtt = render_vtt(layout, "https://h/image/p/storyboard.jpg")
    assert vtt.splitlines()[:4] == [
        "WEBVTT",
        "",
        "00:00:00.000 --> 00:00:01.000",
        "https://h/image/p/storyboard.jpg#xywh=0,0,256,144",
    ]
    assert "00:00:02.000 --> 00:00:03.500" in vtt
    assert "#xywh=768,0,256,144" not in vtt
    doc = render_json(layout, "u")
    assert doc == {
        "url": "u",
        "tile_width": 256,
        "tile_height": 144,
        "duration": 3.5,
        "tiles": [
            {"start": 0.0, "x": 0, "y": 0},
            {"start": 1.0, "x": 256, "y": 0},
            {"start": 2.0, "x": 512, "y": 0},
        ],
    }
    assert images.StoryboardLayout.from_json(layout.to_json()) == layout
    assert images._vtt_time(3723.5) == "01:02:03.500"


def test_storyboard_argv_writes_every_format_in_one_run() -> None:
    layout = plan_storyboard(600.0, 1280, 720)
    argv = storyboard_argv(
        "ffmpeg", SOURCE, "mp4", layout, {"jpg": OUT, "webp": OUT.with_suffix(".webp")}
    )
    assert argv.index("-skip_frame") < argv.index("-i")
    graph = argv[argv.index("-filter_complex") + 1]
    assert "fps=fps=1/12.000000:start_time=0:eof_action=pass" in graph
    assert "tile=10x5" in graph and graph.endswith("split=2[o0][o1]")
    assert argv.count("-map") == 2 and argv.count("-frames:v") == 2
    single = storyboard_argv("ffmpeg", SOURCE, "mp4", plan_storyboard(5.0, 640, 360), {"jpg": OUT})
    assert "-skip_frame" not in single
    assert single[single.index("-filter_complex") + 1].endswith("tile=5x1[o0]")


PLAYLIST = MediaPlaylist(
    "init.mp4",
    (MediaSegment("s1.m4s", 6.0), MediaSegment("s2.m4s", 6.0), MediaSegment("s3.m4s", 1.0)),
    "VOD",
    True,
)


@pytest.mark.parametrize(
    ("start", "end", "uris", "first"),
    [
        (0.0, 0.0, ("s1.m4s",), 0.0),
        (5.9, 5.9, ("s1.m4s",), 0.0),
        (6.0, 6.0, ("s2.m4s",), 6.0),
        (4.0, 9.0, ("s1.m4s", "s2.m4s"), 0.0),
        (0.0, 13.0, ("s1.m4s", "s2.m4s", "s3.m4s"), 0.0),
        (12.5, 12.5, ("s3.m4s",), 12.0),
        (40.0, 40.0, ("s3.m4s",), 12.0),
    ],
)
def test_segment_window(start: float, end: float, uris: tuple[str, ...], first: float) -> None:
    window = segment_window(PLAYLIST, start, end)
    assert (window.uris, window.first_start) == (uris, first)


def test_pick_rendition_prefers_the_smallest_big_enough() -> None:
    sizes = [(1920, 1080), (640, 360), (1280, 720)]
    assert pick_rendition(sizes, 256, 0) == 1
    assert pick_rendition(sizes, 700, 0) == 2
    assert pick_rendition(sizes, 4000, 0) == 0
    assert pick_rendition(sizes, 0, 400) == 2
    with pytest.raises(ValueError):
        pick_rendition([], 1, 1)
