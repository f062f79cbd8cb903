"""End to end: probe, plan, encode every rung in one FFmpeg run, check the output with PyAV."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Callable
from pathlib import Path

import av
import pytest

from reelhouse.pipeline.ladder import plan_ladder
from reelhouse.pipeline.package import PackageResult, transcode
from reelhouse.pipeline.playlists import parse_media_playlist
from reelhouse.pipeline.probe import ProbeResult, probe

Clip = Callable[[str], Path]


async def run(
    source: Path, out: Path, ffmpeg: str
) -> tuple[ProbeResult, PackageResult, list[float]]:
    probed = await probe(source)
    progress: list[float] = []
    result = await transcode(
        source,
        probed,
        plan_ladder(probed),
        out,
        ffmpeg=ffmpeg,
        preset="ultrafast",
        on_progress=progress.append,
    )
    return probed, result, progress


def frame_count(playlist: Path) -> int:
    with av.open(str(playlist)) as container:
        return sum(1 for _ in container.decode(video=0))


def video_packet_hashes(path: Path) -> list[str]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [hashlib.sha256(bytes(p)).hexdigest() for p in container.demux(stream) if p.size]


async def test_small_clip_end_to_end(clip: Clip, ffmpeg_exe: str, tmp_path: Path) -> None:
    _probed, result, progress = await run(clip("small"), tmp_path / "out", ffmpeg_exe)
    names = [r.name for r in result.renditions]
    assert names == ["360p", "240p", "audio"]
    assert progress and progress[-1] == 100.0
    for rendition in result.renditions:
        text = (tmp_path / "out" / rendition.playlist).read_text()
        assert "#EXT-X-PLAYLIST-TYPE:VOD" in text and "#EXT-X-ENDLIST" in text
        assert parse_media_playlist(text).duration == pytest.approx(4.0, abs=0.1)
        if rendition.kind == "video":
            assert rendition.width is not None and rendition.height is not None
            assert rendition.width <= 640 and rendition.height <= 360
            assert frame_count(tmp_path / "out" / rendition.playlist) == pytest.approx(120, abs=2)
    # a short first segment, then the steady length; every rendition cut at the same times
    for rendition in result.renditions:
        durations = [s.duration for s in rendition.segments]
        assert durations[:2] == pytest.approx([2.0, 2.0], abs=0.03)
    assert not list((tmp_path / "out").rglob("ffmpeg.m3u8"))
    master = result.master.read_text().splitlines()
    assert master[:3] == ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    assert master[3].startswith('#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud"')
    assert 'URI="audio/index.m3u8"' in master[3]
    infs = [line for line in master if line.startswith("#EXT-X-STREAM-INF:")]
    assert len(infs) == 2
    assert all('CODECS="avc1.' in i and ',mp4a.40.2"' in i and 'AUDIO="aud"' in i for i in infs)
    assert "RESOLUTION=640x360" in master[4] and "FRAME-RATE=30.000" in master[4]
    assert master[5] == "360p/index.m3u8"
    mpd = result.mpd.read_text()
    assert mpd.count("<Representation ") == 3 and 'id="360p"' in mpd


async def test_dash_manifest_is_readable(clip: Clip, ffmpeg_exe: str, tmp_path: Path) -> None:
    """FFmpeg's own DASH demuxer reads the MPD (this PyAV build's does not open it)."""
    _, result, _ = await run(clip("small"), tmp_path / "out", ffmpeg_exe)
    for stream in ("0:v:0", "0:v:1", "0:a:0"):
        listing = subprocess.run(
            [
                ffmpeg_exe,
                "-nostdin",
                "-v",
                "error",
                "-i",
                str(result.mpd),
                "-map",
                stream,
                "-c",
                "copy",
                "-f",
                "framemd5",
                "-",
            ],
            capture_output=True,
            check=True,
            timeout=60,
            text=True,
        ).stdout
        packets = [line for line in listing.splitlines() if line and not line.startswith("#")]
        assert len(packets) == pytest.approx(120 if stream != "0:a:0" else 188, abs=3)


async def test_passthrough_top_rung_is_byte_identical(
    clip: Clip, ffmpeg_exe: str, tmp_path: Path
) -> None:
    source = clip("hd")
    _probed, result, _ = await run(source, tmp_path / "out", ffmpeg_exe)
    top = result.renditions[0]
    assert top.passthrough and (top.width, top.height) == (1920, 1080)
    assert [r.name for r in result.renditions] == ["1080p", "720p", "540p", "360p", "240p", "audio"]
    assert video_packet_hashes(tmp_path / "out" / top.playlist) == video_packet_hashes(source)
    # the copied and the encoded rungs are cut at the same keyframes
    cuts = {tuple(round(s.duration, 3) for s in r.segments) for r in result.renditions[:-1]}
    assert len(cuts) == 1
    for rendition in result.renditions[1:-1]:
        assert frame_count(tmp_path / "out" / rendition.playlist) == pytest.approx(120, abs=2)
        assert rendition.height is not None and rendition.height < 1080


async def test_audio_only_end_to_end(clip: Clip, ffmpeg_exe: str, tmp_path: Path) -> None:
    _, result, _ = await run(clip("audio"), tmp_path / "out", ffmpeg_exe)
    assert [r.name for r in result.renditions] == ["audio"]
    master = result.master.read_text()
    assert 'CODECS="mp4a.40.2"' in master and "audio/index.m3u8" in master
