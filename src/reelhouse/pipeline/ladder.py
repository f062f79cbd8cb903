"""Ladder planning: which renditions to make from a probed source. Pure.

Rungs are named for their short side ("720p" is 1280x720 landscape or 720x1280 portrait), capped
by the environment's ``max_resolution_tier`` and by the source (never upscaled). Bit rates follow
Apple's HLS authoring ladder as capped-CRF caps with ``bufsize = 2 x maxrate``. Frame rate is
kept up to 60 fps on rungs of 720p and up, and up to 30 fps below, by integer decimation.
Closed GOPs of :data:`GOP_SECONDS` put keyframes at identical times in every rung, unless the top
rung passes the source through, in which case the encoded rungs cut where the source has keyframes.
"""

from __future__ import annotations

import enum
import itertools
import math
from dataclasses import dataclass
from fractions import Fraction

from reelhouse.pipeline.probe import ProbeResult, VideoStream


class Tier(enum.StrEnum):
    P1080 = "1080p"
    P1440 = "1440p"
    P2160 = "2160p"

    @property
    def short_side(self) -> int:
        return int(self.value[:-1])


class VideoQuality(enum.StrEnum):
    BASIC = "basic"
    PLUS = "plus"


class KeyframeMode(enum.StrEnum):
    FIXED = "fixed"  # a keyframe every GOP_SECONDS in every encoded rung
    SOURCE = "source"  # a keyframe wherever the (passed-through) source has one


STANDARD_RUNGS: tuple[tuple[int, int], ...] = (
    (2160, 16000),
    (1440, 10000),
    (1080, 6000),
    (720, 3000),
    (540, 2000),
    (360, 800),
    (240, 300),
)
"""(short side, maxrate kbit/s), highest first."""

CRF = {VideoQuality.BASIC: 23, VideoQuality.PLUS: 21}
GOP_SECONDS = 2.0
_OWN_RUNG_MARGIN = 1.10  # a source this much above the next rung gets a rung at its own size


@dataclass(frozen=True)
class Rung:
    name: str
    width: int
    height: int
    fps: Fraction
    decimation: int  # keep every n-th source frame (1: the source's rate)
    maxrate_kbps: int
    bufsize_kbps: int
    crf: int
    passthrough: bool = False


@dataclass(frozen=True)
class AudioPlan:
    """AAC-LC stereo, one rendition shared by every video rung."""

    source_index: int
    bitrate_kbps: int = 128
    channels: int = 2
    sample_rate: int = 48000
    normalize: bool = False


@dataclass(frozen=True)
class PassthroughRules:
    max_level: int = 42
    max_fps: int = 60
    max_keyframe_interval: float = 6.0
    max_bit_rate: int = 8_000_000


@dataclass(frozen=True)
class LadderPlan:
    rungs: tuple[Rung, ...]  # highest first
    audio: AudioPlan | None
    video_index: int | None
    keyframes: KeyframeMode = KeyframeMode.FIXED
    gop_seconds: float = GOP_SECONDS
    passthrough_blockers: tuple[str, ...] = ()

    @property
    def top(self) -> Rung | None:
        return self.rungs[0] if self.rungs else None


def even(value: float) -> int:
    """The nearest even integer, at least 2."""
    return max(2, 2 * round(value / 2))


def display_size(video: VideoStream, rotation: int) -> tuple[int, int]:
    """Width and height as shown: sample aspect ratio applied, rotation baked in."""
    width = (
        video.width * video.sample_aspect_ratio if video.sample_aspect_ratio > 0 else video.width
    )
    w, h = float(width), float(video.height)
    if rotation % 180 == 90:
        w, h = h, w
    return round(w), round(h)


def rung_size(short: int, display: tuple[int, int]) -> tuple[int, int]:
    """Frame size with short side ``short``, the display aspect ratio, even, never above it."""
    w, h = display
    long_side = min(even(short * max(w, h) / min(w, h)), max(w, h) // 2 * 2)
    return (long_side, short) if w >= h else (short, long_side)


def rung_frame_rate(source: Fraction, short: int) -> tuple[Fraction, int]:
    """(fps, decimation): the source rate divided by the smallest integer that keeps it under
    60 fps (720p and up) or 30 fps (below)."""
    ceiling = 60 if short >= 720 else 30
    n = max(1, math.ceil(source / ceiling - Fraction(1, 1000)))
    return source / n, n


def _maxrate(short: int) -> int:
    """Cap for a non-standard short side: interpolated between the table's neighbours."""
    table = list(reversed(STANDARD_RUNGS))
    if short <= table[0][0]:
        return max(100, round(table[0][1] * short * short / table[0][0] ** 2))
    for (s0, r0), (s1, r1) in itertools.pairwise(table):
        if short <= s1:
            return round(r0 + (r1 - r0) * (short - s0) / (s1 - s0))
    return table[-1][1]


def _short_sides(source_short: int, tier: Tier) -> list[tuple[int, int]]:
    cap = min(source_short, tier.short_side)
    sides = [(s, r) for s, r in STANDARD_RUNGS if s <= cap]
    own = cap // 2 * 2
    if own >= 2 and (not sides or own > sides[0][0] * _OWN_RUNG_MARGIN):
        sides.insert(0, (own, _maxrate(own)))
    return sides


def passthrough_blockers(
    probe: ProbeResult, video: VideoStream, top: Rung, rules: PassthroughRules
) -> tuple[str, ...]:
    """Why the source cannot become ``top`` unchanged; empty when it can."""
    gop, fps = probe.gop, video.frame_rate
    checks = {
        "codec is not H.264": video.codec != "h264",
        "profile is not High": video.profile != "High",
        f"level above {rules.max_level}": (video.level or 99) > rules.max_level,
        "not 8-bit yuv420p": video.pix_fmt not in ("yuv420p", "yuvj420p") or video.bit_depth != 8,
        "pixels are not square": video.sample_aspect_ratio != 1,
        "frame rate unknown or above the limit": fps is None or fps > rules.max_fps,
        "frame rate is not constant": gop is None or not gop.constant_frame_rate,
        "GOPs are open": gop is None or not gop.closed,
        "keyframes too far apart": gop is None
        or gop.keyframe_interval_max is None
        or gop.keyframe_interval_max > rules.max_keyframe_interval,
        "bit rate above the limit": _video_bit_rate(probe, video) > rules.max_bit_rate,
        "rotated": probe.rotation != 0,
        "size differs from the top rung": (video.width, video.height) != (top.width, top.height),
    }
    return tuple(reason for reason, failed in checks.items() if failed)


def _video_bit_rate(probe: ProbeResult, video: VideoStream) -> int:
    rate = video.bit_rate or (probe.gop.video_bit_rate if probe.gop else None) or probe.bit_rate
    return rate if rate is not None else 1 << 62


def plan_ladder(
    probe: ProbeResult,
    *,
    max_resolution_tier: Tier = Tier.P1080,
    video_quality: VideoQuality = VideoQuality.PLUS,
    normalize_audio: bool = False,
    allow_passthrough: bool = True,
    rules: PassthroughRules | None = None,
) -> LadderPlan:
    """Plan the renditions for ``probe`` (which should have passed validation).

    The first decodable video and audio streams are used; a source without decodable video
    gets an audio-only plan.
    """
    audio = next((a for a in probe.audio if a.decodable), None)
    audio_plan = AudioPlan(audio.index, normalize=normalize_audio) if audio else None
    video = next((v for v in probe.video if v.decodable), None)
    if video is None:
        return LadderPlan((), audio_plan, None)
    display = display_size(video, probe.rotation)
    source_fps = video.frame_rate or Fraction(30)
    crf = CRF[video_quality]
    rungs: list[Rung] = []
    for short, maxrate in _short_sides(min(display), max_resolution_tier):
        width, height = rung_size(short, display)
        fps, decimation = rung_frame_rate(source_fps, short)
        rungs.append(Rung(f"{short}p", width, height, fps, decimation, maxrate, 2 * maxrate, crf))
    blockers = passthrough_blockers(probe, video, rungs[0], rules or PassthroughRules())
    if not allow_passthrough:
        blockers = ("passthrough disabled", *blockers)
    if blockers:
        return LadderPlan(tuple(rungs), audio_plan, video.index, passthrough_blockers=blockers)
    top = rungs[0]
    rungs[0] = Rung(
        top.name,
        top.width,
        top.height,
        source_fps,
        1,
        top.maxrate_kbps,
        top.bufsize_kbps,
        top.crf,
        passthrough=True,
    )
    return LadderPlan(tuple(rungs), audio_plan, video.index, KeyframeMode.SOURCE)
