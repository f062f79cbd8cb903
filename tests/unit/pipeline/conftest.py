"""Builders of probe results for the pure pipeline tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from fractions import Fraction
from typing import Any

import pytest

from reelhouse.pipeline.probe import AudioStream, GopInfo, ProbeResult, VideoStream

MakeProbe = Callable[..., ProbeResult]


def _video(width: int, height: int, fps: Fraction, **changes: Any) -> VideoStream:
    base = VideoStream(
        index=0,
        codec="h264",
        decodable=True,
        profile="High",
        level=40,
        width=width,
        height=height,
        pix_fmt="yuv420p",
        bit_depth=8,
        sample_aspect_ratio=Fraction(1),
        avg_frame_rate=fps,
        real_frame_rate=fps,
        bit_rate=5_000_000,
    )
    return replace(base, **changes)


@pytest.fixture
def make_probe() -> MakeProbe:
    """``make_probe(1920, 1080, fps=30, video={...}, gop={...}, audio=True, **probe_fields)``."""

    def build(
        width: int = 1920,
        height: int = 1080,
        *,
        fps: float | Fraction = 30,
        video: dict[str, Any] | None = None,
        gop: dict[str, Any] | None = None,
        audio: bool = True,
        has_video: bool = True,
        **fields: Any,
    ) -> ProbeResult:
        gop_info = GopInfo(
            keyframe_count=5,
            keyframe_interval_max=2.0,
            closed=True,
            constant_frame_rate=True,
            scanned_seconds=10.0,
            scanned_bytes=6_000_000,
            frames=300,
            rotation=0,
        )
        result = ProbeResult(
            format_name="mov,mp4,m4a,3gp,3g2,mj2",
            size_bytes=10_000_000,
            duration=60.0,
            bit_rate=5_200_000,
            video=(_video(width, height, Fraction(fps), **(video or {})),) if has_video else (),
            audio=(AudioStream(1, "aac", True, "LC", 2, 48000, 128_000),) if audio else (),
            gop=replace(gop_info, **(gop or {})) if has_video else None,
        )
        return replace(result, **fields)

    return build
