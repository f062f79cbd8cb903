"""Real FFmpeg runs of the image argv: thumbnails, animated GIFs and storyboard sprites,
decoded with PyAV (which opens JPEG, PNG, WebP and GIF files as one-stream containers)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import av
import pytest

from reelhouse.delivery.images import LAYOUT_NAME, StoryboardTarget, build_storyboard
from reelhouse.delivery.playbacks import PublishedRendition
from reelhouse.pipeline import runner
from reelhouse.pipeline.images import (
    animated_argv,
    parse_animated,
    parse_thumbnail,
    plan_storyboard,
    render_vtt,
    storyboard_argv,
    thumbnail_argv,
)
from reelhouse.pipeline.ladder import plan_ladder
from reelhouse.pipeline.package import transcode
from reelhouse.pipeline.probe import probe
from reelhouse.storage.layout import asset_version_prefix, storyboard_key
from reelhouse.storage.local import LocalObjectStore

Clip = Callable[[str], Path]


def decode(path: Path) -> list[av.VideoFrame]:
    with av.open(str(path)) as container:
        return list(container.decode(video=0))


def mean_luma(frame: av.VideoFrame, x: int, y: int, w: int, h: int) -> float:
    gray = frame.reformat(format="gray")
    plane = gray.planes[0]
    data = bytes(plane)
    total = sum(
        sum(data[row * plane.line_size + x : row * plane.line_size + x + w])
        for row in range(y, y + h)
    )
    return total / (w * h)


async def run_ok(argv: list[str], outputs: list[Path]) -> None:
    done = await runner.run(argv, timeout=60)
    assert done.ok, done.stderr_text()
    assert all(p.stat().st_size > 0 for p in outputs)


@pytest.mark.parametrize(
    ("query", "ext", "size"),
    [
        ({}, "jpg", (1280, 720)),
        ({"time": "9.99", "width": "320"}, "png", (320, 180)),
        ({"time": "2", "height": "100", "rotate": "270"}, "webp", (56, 100)),
        ({"width": "300", "height": "300", "fit_mode": "smartcrop"}, "jpg", (300, 300)),
    ],
)
async def test_thumbnails_from_a_source_file(
    clip: Clip,
    ffmpeg_exe: str,
    tmp_path: Path,
    query: dict[str, str],
    ext: str,
    size: tuple[int, int],
) -> None:
    source = clip("lesson")
    params = parse_thumbnail(query, ext, 10.0)
    out = tmp_path / f"thumb.{ext}"
    await run_ok(thumbnail_argv(ffmpeg_exe, source, "mov", params.time, params, out), [out])
    frames = decode(out)
    assert len(frames) == 1
    assert (frames[0].width, frames[0].height) == size


async def test_thumbnail_from_matroska(clip: Clip, ffmpeg_exe: str, tmp_path: Path) -> None:
    params = parse_thumbnail({"time": "1"}, "jpg", 2.0)
    out = tmp_path / "t.jpg"
    await run_ok(thumbnail_argv(ffmpeg_exe, clip("tiny"), "matroska", 1.0, params, out), [out])
    assert (decode(out)[0].width, decode(out)[0].height) == (320, 240)


@pytest.mark.parametrize(("fps", "span"), [(10, 2.0), (15, 1.0)])
async def test_animated_gif_frame_count_is_fps_times_span(
    clip: Clip, ffmpeg_exe: str, tmp_path: Path, fps: int, span: float
) -> None:
    query = {"start": "3", "end": str(3 + span), "fps": str(fps), "width": "200"}
    params = parse_animated(query, "gif", 10.0)
    out = tmp_path / "a.gif"
    await run_ok(animated_argv(ffmpeg_exe, clip("lesson"), "mov", 3.0, params, out), [out])
    frames = decode(out)
    assert (frames[0].width, frames[0].height) == (200, 112)
    assert abs(len(frames) - fps * span) <= 1


async def test_keyframe_storyboard_fills_every_tile(ffmpeg_exe: str, tmp_path: Path) -> None:
    # 110 s with a keyframe every 2 s: 50 tiles 2.2 s apart, decoded from keyframes only
    source = tmp_path / "long.mp4"
    subprocess.run(
        [
            *(ffmpeg_exe, "-hide_banner", "-loglevel", "error", "-nostdin", "-y"),
            *("-f", "lavfi", "-i", "testsrc2=s=160x90:r=30:d=110"),
            *("-c:v", "libx264", "-preset", "ultrafast", "-g", "60", "-pix_fmt", "yuv420p"),
            str(source),
        ],
        check=True,
        timeout=120,
    )
    layout = plan_storyboard(110.0, 160, 90)
    assert layout.keyframes_only and layout.count == 50
    out = tmp_path / "sprite.jpg"
    await run_ok(storyboard_argv(ffmpeg_exe, source, "mov", layout, {"jpg": out}), [out])
    sprite = decode(out)[0]
    assert (sprite.width, sprite.height) == (10 * 256, 5 * 144)
    for _start, _end, x, y in layout.tiles():
        assert mean_luma(sprite, x, y, 256, 144) > 20  # testsrc2 is never black


async def test_built_storyboard_regions_lie_inside_the_sprite(
    clip: Clip, ffmpeg_exe: str, tmp_path: Path
) -> None:
    source = clip("lesson")
    probed = await probe(source)
    out_dir = tmp_path / "out"
    result = await transcode(
        source, probed, plan_ladder(probed), out_dir, ffmpeg=ffmpeg_exe, preset="ultrafast"
    )
    store = LocalObjectStore(tmp_path / "objects", fsync=False)
    prefix = asset_version_prefix("env1", "asset1", 1)
    for path in out_dir.rglob("*"):
        if path.is_file():
            await store.put_file(prefix + path.relative_to(out_dir).as_posix(), path)
    renditions = tuple(
        PublishedRendition(
            r.name, r.kind, r.width, r.height, None, 1, 1, r.codecs, None, prefix + r.playlist
        )
        for r in result.renditions
    )
    target = StoryboardTarget("env1", "asset1", 1, result.duration, renditions)
    layout = await build_storyboard(store, target, ffmpeg=ffmpeg_exe, scratch_dir=tmp_path / "s")
    assert await store.exists(storyboard_key("env1", "asset1", 1, LAYOUT_NAME))
    sprite_path = tmp_path / "sprite.webp"
    sprite_path.write_bytes(
        await store.get_bytes(storyboard_key("env1", "asset1", 1, "storyboard.webp"))
    )
    sprite = decode(sprite_path)[0]
    cues = re.findall(
        r"^([\d:.]+) --> ([\d:.]+)\n\S+#xywh=(\d+),(\d+),(\d+),(\d+)$",
        render_vtt(layout, "storyboard.webp"),
        re.MULTILINE,
    )
    assert len(cues) == layout.count == 10
    assert layout.duration == pytest.approx(10.0, abs=0.1)
    assert cues[0][0] == "00:00:00.000" and cues[-1][1] == f"00:00:{layout.duration:06.3f}"
    for _start, _end, x, y, w, h in cues:
        assert int(x) + int(w) <= sprite.width and int(y) + int(h) <= sprite.height
        assert mean_luma(sprite, int(x), int(y), int(w), int(h)) > 20
    again = await build_storyboard(store, target, ffmpeg="/nonexistent", scratch_dir=tmp_path)
    assert again == layout  # already made: nothing runs
