from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import pytest

from reelhouse.pipeline.ffmpeg import locate_ffmpeg, query_ffmpeg
from reelhouse.pipeline.ladder import plan_ladder
from reelhouse.pipeline.probe import probe
from reelhouse.pipeline.validate import InputLimits, MediaKind, validate

Clip = Callable[[str], Path]


async def test_probe_small_clip(clip: Clip) -> None:
    result = await probe(clip("small"))
    assert result.format_name == "mov,mp4,m4a,3gp,3g2,mj2"
    assert result.duration == pytest.approx(4.0, abs=0.1)
    (video,) = result.video
    assert (video.codec, video.width, video.height, video.pix_fmt) == ("h264", 640, 360, "yuv420p")
    assert video.frame_rate == Fraction(30) and video.bit_depth == 8
    (audio,) = result.audio
    assert (audio.codec, audio.channels, audio.sample_rate) == ("aac", 2, 48000)
    assert result.gop is not None
    assert result.gop.keyframe_interval_max == pytest.approx(2.0, abs=0.05)
    assert result.gop.closed and result.gop.constant_frame_rate and result.gop.rotation == 0
    assert validate(result, InputLimits()) is MediaKind.VIDEO


async def test_probe_hd_qualifies_for_passthrough(clip: Clip) -> None:
    result = await probe(clip("hd"))
    assert result.video[0].profile == "High"
    plan = plan_ladder(result)
    assert plan.passthrough_blockers == ()
    assert plan.rungs[0].passthrough


async def test_probe_audio_only(clip: Clip) -> None:
    result = await probe(clip("audio"))
    assert result.video == () and result.gop is None
    assert validate(result, InputLimits()) is MediaKind.AUDIO_ONLY


async def test_probe_matroska(clip: Clip) -> None:
    result = await probe(clip("tiny"))
    assert result.demuxer == "matroska"
    assert result.video[0].frame_rate == Fraction(25)


async def test_ffmpeg_doctor_query() -> None:
    info = await query_ffmpeg(locate_ffmpeg())
    assert info.has_encoder("libx264") and info.has_encoder("aac")
    assert info.version != "unknown"
