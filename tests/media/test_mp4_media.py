"""Static renditions made with the real FFmpeg from real HLS output, checked with PyAV.

A 2 s 640x360 clip (re-encoded: not passthrough material) and the 10 s 720p ``lesson`` clip
(whose top rung passes through) are packaged by the pipeline; the files are remuxed the way the
job does it (a rung's init segment followed by its media segments is one fragmented MP4).
"""

from __future__ import annotations

import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import av
import pytest
from tests.conftest import Clip

from reelhouse.pipeline import mp4, runner
from reelhouse.pipeline.ladder import plan_ladder
from reelhouse.pipeline.package import PackageResult, Rendition, transcode
from reelhouse.pipeline.probe import probe


@dataclass(frozen=True)
class Packaged:
    source: Path
    out_dir: Path
    result: PackageResult

    def rendition(self, name: str) -> Rendition:
        return next(r for r in self.result.renditions if r.name == name)


async def _package(source: Path, out: Path, ffmpeg: str) -> Packaged:
    probed = await probe(source)
    result = await transcode(
        source, probed, plan_ladder(probed), out, ffmpeg=ffmpeg, preset="ultrafast"
    )
    return Packaged(source, out, result)


@pytest.fixture(scope="session")
async def small(tmp_path_factory: pytest.TempPathFactory, ffmpeg_exe: str) -> Packaged:
    folder = tmp_path_factory.mktemp("mp4-small")
    source = folder / "clip.mp4"
    lavfi = ["testsrc2=s=640x360:r=30:d=2", "sine=f=440:r=48000:d=2"]
    subprocess.run(
        [ffmpeg_exe, "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
        + [arg for graph in lavfi for arg in ("-f", "lavfi", "-i", graph)]
        + ["-c:v", "libx264", "-preset", "ultrafast", "-g", "60", "-pix_fmt", "yuv420p"]
        + ["-c:a", "aac", "-ac", "2", "-shortest", str(source)],
        check=True,
        timeout=60,
    )
    return await _package(source, folder / "out", ffmpeg_exe)


@pytest.fixture(scope="session")
async def lesson(tmp_path_factory: pytest.TempPathFactory, clip: Clip, ffmpeg_exe: str) -> Packaged:
    return await _package(clip("lesson"), tmp_path_factory.mktemp("mp4-lesson"), ffmpeg_exe)


def gather(packaged: Packaged, name: str, target: Path) -> Path:
    """The rendition as one fragmented MP4, as the job assembles it."""
    rendition = packaged.rendition(name)
    with target.open("wb") as out:
        for part in [rendition.init, *(s.uri for s in rendition.segments)]:
            out.write((packaged.out_dir / part).read_bytes())
    return target


def top_level_boxes(path: Path) -> list[str]:
    """The types of the file's top-level ISO BMFF boxes, in order."""
    data = path.read_bytes()
    boxes, at = [], 0
    while at + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        if size == 1:
            size = struct.unpack(">Q", data[at + 8 : at + 16])[0]
        elif size == 0:
            size = len(data) - at
        assert size >= 8, f"bad box size at {at}"
        boxes.append(kind.decode("latin-1"))
        at += size
    assert at == len(data)
    return boxes


async def remux(ffmpeg: str, out: Path, video: mp4.Source | None, audio: mp4.Source | None) -> Path:
    done = await runner.run(mp4.remux_argv(ffmpeg, out, video=video, audio=audio), timeout=60)
    assert done.ok, done.stderr_text()
    return out


def assert_faststart(path: Path) -> None:
    boxes = top_level_boxes(path)
    assert "moov" in boxes and "mdat" in boxes
    assert boxes.index("moov") < boxes.index("mdat")
    assert "moof" not in boxes  # progressive, not fragmented


def streams(path: Path) -> tuple[list[str], float]:
    with av.open(str(path)) as container:
        kinds = [s.type for s in container.streams]
        assert container.duration is not None
        return kinds, container.duration / 1_000_000


async def test_capped_1080p_from_rung_segments(
    small: Packaged, tmp_path: Path, ffmpeg_exe: str
) -> None:
    rungs = [
        mp4.VideoRung(r.name, r.width or 0, r.height or 0, r.passthrough)
        for r in small.result.renditions
        if r.kind == "video"
    ]
    made = mp4.recipe(mp4.CAPPED_1080P_NAME, rungs, has_audio=True)
    assert made is not None and made.rung is not None and made.rung.name == "360p"
    video = mp4.Source(gather(small, "360p", tmp_path / "v.mp4"), mp4.FMP4_DEMUXER, "v:0")
    audio = mp4.Source(gather(small, "audio", tmp_path / "a.mp4"), mp4.FMP4_DEMUXER, "a:0")
    out = await remux(ffmpeg_exe, tmp_path / "capped-1080p.mp4", video, audio)
    assert_faststart(out)
    kinds, duration = streams(out)
    assert sorted(kinds) == ["audio", "video"]
    assert duration == pytest.approx(2.0, abs=0.15)
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (640, 360)
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == pytest.approx(60, abs=2)


async def test_audio_m4a_has_only_audio(small: Packaged, tmp_path: Path, ffmpeg_exe: str) -> None:
    audio = mp4.Source(gather(small, "audio", tmp_path / "a.mp4"), mp4.FMP4_DEMUXER, "a:0")
    out = await remux(ffmpeg_exe, tmp_path / "audio.m4a", None, audio)
    assert_faststart(out)
    kinds, duration = streams(out)
    assert kinds == ["audio"]
    assert duration == pytest.approx(2.0, abs=0.15)
    with av.open(str(out)) as container:
        assert container.streams.audio[0].codec_context.name == "aac"
    assert out.read_bytes()[8:12] == b"M4A "  # the ipod muxer's brand


async def test_passthrough_top_rung_from_the_source(
    lesson: Packaged, tmp_path: Path, ffmpeg_exe: str
) -> None:
    top = lesson.result.renditions[0]
    assert top.passthrough and top.height == 720
    probed = await probe(lesson.source)
    video = mp4.Source(lesson.source, probed.demuxer, str(probed.video[0].index))
    audio = mp4.Source(gather(lesson, "audio", tmp_path / "a.mp4"), mp4.FMP4_DEMUXER, "a:0")
    out = await remux(ffmpeg_exe, tmp_path / "highest.mp4", video, audio)
    assert_faststart(out)
    kinds, duration = streams(out)
    assert sorted(kinds) == ["audio", "video"]
    assert duration == pytest.approx(probed.duration or 10.0, abs=0.15)
    with av.open(str(out)) as container:
        context = container.streams.video[0].codec_context
        assert (context.name, context.width, context.height) == ("h264", 1280, 720)


async def test_passthrough_top_rung_from_its_segments_matches(
    lesson: Packaged, tmp_path: Path, ffmpeg_exe: str
) -> None:
    video = mp4.Source(gather(lesson, "720p", tmp_path / "v.mp4"), mp4.FMP4_DEMUXER, "v:0")
    out = await remux(ffmpeg_exe, tmp_path / "highest.mp4", video, None)
    assert_faststart(out)
    kinds, duration = streams(out)
    assert kinds == ["video"]
    assert duration == pytest.approx(10.0, abs=0.15)
