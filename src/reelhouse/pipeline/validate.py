"""Validating a probed input against an environment's limits. Pure.

Every refusal is an :class:`InputRejected` of Mux type ``invalid_input`` whose message names the
offending value and the limit (never a path), e.g. ``Input duration 13:05:00 exceeds the
12:00:00 limit``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from fractions import Fraction

from reelhouse.pipeline.errors import INVALID_INPUT, InputRejected
from reelhouse.pipeline.probe import ProbeResult, VideoStream


class MediaKind(enum.StrEnum):
    VIDEO = "video"
    AUDIO_ONLY = "audio_only"


@dataclass(frozen=True)
class InputLimits:
    """What an environment accepts. Width and height limits apply to the coded frame size."""

    max_duration: float = 12 * 3600.0
    max_width: int = 4096
    max_height: int = 4096
    max_frame_rate: float = 120.0

    @classmethod
    def for_tier(cls, max_resolution_tier: str) -> InputLimits:
        """Limits for a ``max_resolution_tier`` (``"2160p"`` accepts frames up to 8192)."""
        side = 8192 if max_resolution_tier == "2160p" else 4096
        return cls(max_width=side, max_height=side)


def format_duration(seconds: float) -> str:
    """``H:MM:SS`` (hours unbounded), rounding to the nearest second."""
    total = round(seconds)
    return f"{total // 3600}:{total % 3600 // 60:02d}:{total % 60:02d}"


def _reject(message: str) -> InputRejected:
    return InputRejected(INVALID_INPUT, message)


def _check_video(stream: VideoStream, limits: InputLimits) -> None:
    if stream.width <= 0 or stream.height <= 0:
        raise _reject("The input video stream has no frame size")
    if stream.width > limits.max_width:
        raise _reject(f"Input width {stream.width} exceeds the {limits.max_width} limit")
    if stream.height > limits.max_height:
        raise _reject(f"Input height {stream.height} exceeds the {limits.max_height} limit")
    rate = stream.frame_rate
    if rate is not None and rate > Fraction(limits.max_frame_rate):
        raise _reject(
            f"Input frame rate {float(rate):g} fps exceeds the {limits.max_frame_rate:g} fps limit"
        )


def validate(probe: ProbeResult, limits: InputLimits) -> MediaKind:
    """Return what kind of media ``probe`` describes, or raise :class:`InputRejected`.

    Only decodable streams count; the first decodable video stream is the one checked.
    """
    if probe.size_bytes == 0:
        raise _reject("The input file is empty")
    videos = [v for v in probe.video if v.decodable]
    audios = [a for a in probe.audio if a.decodable]
    if not videos and not audios:
        if probe.video or probe.audio:
            raise _reject("The input has no video or audio stream that can be decoded")
        raise _reject("The input has no video or audio stream")
    if probe.duration is None or probe.duration <= 0:
        raise _reject("The input duration could not be determined")
    if probe.duration > limits.max_duration:
        raise _reject(
            f"Input duration {format_duration(probe.duration)} exceeds the "
            f"{format_duration(limits.max_duration)} limit"
        )
    if not videos:
        return MediaKind.AUDIO_ONLY
    _check_video(videos[0], limits)
    return MediaKind.VIDEO
