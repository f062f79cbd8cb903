"""Clips cut from generated sources with a known GOP (a keyframe every second, 30 fps): a start
on a keyframe is stream-copied (the clip's video packets are the source's, byte for byte), a
start between keyframes is re-encoded and frame-accurate (its first picture is the source's
picture at the start, its length right to the frame); the fetch job records which it did."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import av
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.db.models import Asset
from reelhouse.media import assets
from reelhouse.pipeline.clip import ClipCut, CutMethod, cut_clip
from reelhouse.pipeline.probe import Keyframe, probe, scan_keyframes
from reelhouse.schemas.assets import CreateAssetRequest
from reelhouse.storage.local import LocalObjectStore
from reelhouse.worker.media_tasks import CLIP_CUT_KEY, MediaDeps, fetch_input

Clip = Callable[[str], Path]
FPS = 30
GOP = 1.0
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _video_packets(path: Path) -> list[tuple[int, bytes, bool]]:
    """(frame number it is shown at, bytes, keyframe) of each video packet, in showing order."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        packets = [
            (round(float(p.pts * p.time_base) * FPS), bytes(p), p.is_keyframe)
            for p in container.demux(stream)
            if p.pts is not None and p.size
        ]
    return sorted(packets)


def _audio_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(audio=0) if p.size]


def _pictures(path: Path) -> list[bytes]:
    """Every decoded picture, shrunk to 80x60 gray (rows without their padding)."""
    out: list[bytes] = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            plane = frame.reformat(width=80, height=60, format="gray").planes[0]
            data, stride = bytes(plane), plane.line_size
            out.append(b"".join(data[row * stride : row * stride + 80] for row in range(60)))
    return out


def _distance(a: bytes, b: bytes) -> int:
    return sum(abs(x - y) for x, y in zip(a, b, strict=True))


def _duration(path: Path) -> float:
    with av.open(str(path)) as container:
        assert container.duration is not None
        return container.duration / 1_000_000


async def _cut(ffmpeg: str, source: Path, start: float, end: float, out: Path) -> ClipCut:
    probed = await probe(source)
    cut, refused = await cut_clip(ffmpeg, source, probed, start, end, out, timeout=60)
    assert refused is None
    return cut


async def test_keyframes_near_a_time_are_listed_clean_for_closed_gops(clip: Clip) -> None:
    found = await scan_keyframes(clip("keyed"), 2.0, window=1.0)
    assert found == (Keyframe(1.0, True), Keyframe(2.0, True), Keyframe(3.0, True))
    assert await scan_keyframes(clip("keyed"), 2.5, window=0.2) == ()


async def test_open_gop_keyframes_are_not_clean_and_are_not_copied_from(
    clip: Clip, ffmpeg_exe: str, tmp_path: Path
) -> None:
    found = await scan_keyframes(clip("open_gop"), 2.0, window=1.0)
    assert [k.time for k in found] == [1.0, 2.0, 3.0]
    assert not any(k.clean for k in found)
    cut = await _cut(ffmpeg_exe, clip("open_gop"), 2.0, 3.0, tmp_path / "clip.mp4")
    assert (cut.method, cut.reason) == (CutMethod.REENCODE, "open_gop_keyframe")


async def test_a_clip_starting_on_a_keyframe_is_stream_copied(
    clip: Clip, ffmpeg_exe: str, tmp_path: Path
) -> None:
    source, out = clip("keyed"), tmp_path / "clip.mp4"
    cut = await _cut(ffmpeg_exe, source, 2.0, 3.5, out)
    assert cut == ClipCut(CutMethod.COPY, 2.0, 3.5, "start_on_keyframe")
    original = {frame: data for frame, data, _key in _video_packets(source)}
    copied = _video_packets(out)
    assert copied[0][0] == 0 and copied[0][2]  # starts on the keyframe, shown first
    assert len(copied) >= 45
    assert all(data == original[frame + 2 * FPS] for frame, data, _key in copied)
    audio, source_audio = _audio_packets(out), _audio_packets(source)
    assert audio and any(
        source_audio[i : i + len(audio)] == audio for i in range(len(source_audio))
    )
    assert abs(_duration(out) - 1.5) <= GOP


async def test_a_clip_starting_between_keyframes_is_reencoded_to_the_frame(
    clip: Clip, ffmpeg_exe: str, tmp_path: Path
) -> None:
    source, out = clip("keyed"), tmp_path / "clip.mp4"
    cut = await _cut(ffmpeg_exe, source, 2.5, 3.5, out)
    assert cut == ClipCut(CutMethod.REENCODE, 2.5, 3.5, "start_between_keyframes")
    original = {data for _frame, data, _key in _video_packets(source)}
    assert not any(data in original for _frame, data, _key in _video_packets(out))
    pictures, source_pictures = _pictures(out), _pictures(source)
    assert abs(len(pictures) - FPS) <= 1
    assert abs(_duration(out) - 1.0) <= 1 / FPS + 0.03
    distances = [_distance(pictures[0], p) for p in source_pictures]
    assert distances.index(min(distances)) == int(2.5 * FPS)


async def test_a_clip_from_the_beginning_is_stream_copied(
    clip: Clip, ffmpeg_exe: str, tmp_path: Path
) -> None:
    source, out = clip("keyed"), tmp_path / "clip.mp4"
    cut = await _cut(ffmpeg_exe, source, 0.0, 1.5, out)
    assert cut == ClipCut(CutMethod.COPY, 0.0, 1.5, "start_at_beginning")
    original = {frame: data for frame, data, _key in _video_packets(source)}
    assert all(data == original[frame] for frame, data, _key in _video_packets(out))


async def test_keyframe_times_count_from_the_file_start_as_ffmpeg_seeks(
    clip: Clip, ffmpeg_exe: str, tmp_path: Path
) -> None:
    """In MPEG-TS the streams start later than 0 and the audio before the video: a keyframe's
    time is what ``-ss`` means by it, so the copy starts on that keyframe's picture."""
    source = tmp_path / "keyed.ts"
    argv = [ffmpeg_exe, "-hide_banner", "-loglevel", "error", "-i", str(clip("keyed"))]
    subprocess.run([*argv, "-c", "copy", "-f", "mpegts", str(source)], check=True, timeout=60)
    [keyframe] = await scan_keyframes(source, 2.0, window=0.5)
    assert keyframe.clean and keyframe.time != 2.0
    out = tmp_path / "clip.mp4"
    cut = await _cut(ffmpeg_exe, source, keyframe.time, keyframe.time + 1.0, out)
    assert (cut.method, cut.start) == (CutMethod.COPY, keyframe.time)
    assert _pictures(out)[0] == _pictures(clip("keyed"))[2 * FPS]


@pytest.mark.parametrize("start", [1.0, 3.0])
async def test_copied_clips_keep_their_length_within_a_gop(
    clip: Clip, ffmpeg_exe: str, tmp_path: Path, start: float
) -> None:
    out = tmp_path / "clip.mp4"
    cut = await _cut(ffmpeg_exe, clip("keyed"), start, start + 0.8, out)
    assert cut.method is CutMethod.COPY
    assert abs(_duration(out) - 0.8) <= GOP


@pytest.mark.parametrize(
    ("start", "method", "reason"),
    [(2.0, "stream_copy", "start_on_keyframe"), (2.5, "reencode", "start_between_keyframes")],
)
async def test_the_fetch_job_cuts_a_clip_and_records_how(
    sessions: async_sessionmaker[AsyncSession],
    environment_id: str,
    clip: Clip,
    ffmpeg_exe: str,
    tmp_path: Path,
    start: float,
    method: str,
    reason: str,
) -> None:
    deps = MediaDeps(
        sessions=sessions,
        store=LocalObjectStore(tmp_path / "objects", fsync=False),
        clock=lambda: T0,
        ffmpeg=ffmpeg_exe,
        uploads_dir=tmp_path / "uploads",
        inputs_dir=tmp_path / "inputs",
        scratch_dir=tmp_path / "scratch",
    )
    source = await _create(sessions, environment_id, {"url": "https://media.example/keyed.mp4"})
    deps.inputs_dir.mkdir()
    shutil.copyfile(clip("keyed"), deps.inputs_dir / source.id)
    spec = {"url": f"mux://assets/{source.id}", "start_time": start, "end_time": start + 1}
    made = await _create(sessions, environment_id, spec)
    await fetch_input(deps, made.id)
    async with sessions() as session:
        cut = await session.get(Asset, made.id)
    assert cut is not None and cut.status == "preparing"
    assert cut.settings[CLIP_CUT_KEY] == {"method": method, "reason": reason, "start": start}
    assert cut.source_size == (deps.inputs_dir / made.id).stat().st_size > 0
    assert abs(_duration(deps.inputs_dir / made.id) - 1.0) <= GOP


async def _create(
    sessions: async_sessionmaker[AsyncSession], environment_id: str, spec: dict[str, object]
) -> Asset:
    request = CreateAssetRequest.model_validate({"input": [spec]})
    async with sessions.begin() as session:
        return await assets.create_asset_from_url(session, environment_id, request, now=T0)
