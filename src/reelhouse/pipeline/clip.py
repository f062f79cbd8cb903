"""Clips: a new input cut from an existing asset's source between two times.

A clip whose start falls on a clean keyframe of the source (within half a frame; a start of 0
always counts), and whose streams an MP4 can hold as they are, is stream-copied: no quality is
lost and the work is a file copy. Any other clip is re-encoded, accurate to the frame whatever
the source's keyframes, at high quality. Either way the clip then goes through the normal
pipeline like any other input. :func:`plan_cut` (the choice) and :func:`clip_argv` are pure;
:func:`cut_clip` is the I/O shell that scans the keyframes near the start, cuts, and falls back
to re-encoding when FFmpeg refuses the copy.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reelhouse.pipeline import runner
from reelhouse.pipeline.encode import input_args
from reelhouse.pipeline.errors import (
    INVALID_INPUT,
    EncodeFailed,
    InputRejected,
    ProbeFailed,
    ProcessTimeout,
)
from reelhouse.pipeline.probe import Keyframe, ProbeResult, scan_keyframes

COPYABLE_VIDEO_CODECS: frozenset[str] = frozenset({"h264", "hevc", "av1", "vp9"})
"""Video codecs stream-copied into the clip's MP4 (what the MP4 muxer stores as they are)."""
COPYABLE_AUDIO_CODECS: frozenset[str] = frozenset(
    {"aac", "mp3", "opus", "flac", "alac", "ac3", "eac3"}
)
"""Audio codecs stream-copied into the clip's MP4."""
UNKNOWN_RATE_TOLERANCE = 0.001
"""Seconds a keyframe may sit from the start when the source's frame rate is unknown."""
KEYFRAME_WINDOW = 1.0
"""Seconds either side of the start within which keyframes are listed."""


class CutMethod(enum.StrEnum):
    COPY = "stream_copy"
    REENCODE = "reencode"


@dataclass(frozen=True)
class ClipCut:
    """How a clip is cut. ``start`` is where FFmpeg seeks: for a copy the keyframe's own time
    (so the seek cannot land on the keyframe before), else the requested start. ``reason`` is
    a stable token for logs: ``start_at_beginning``, ``start_on_keyframe``,
    ``start_between_keyframes``, ``open_gop_keyframe``, ``keyframes_unknown``, ``no_video``,
    ``video_codec_not_copyable``, ``audio_codec_not_copyable``, ``copy_failed``."""

    method: CutMethod
    start: float
    end: float
    reason: str

    @property
    def duration(self) -> float:
        return self.end - self.start


def clip_range(probe: ProbeResult, start: float | None, end: float | None) -> tuple[float, float]:
    """The validated ``(start, end)`` in seconds; missing ends mean the source's edges."""
    duration = probe.duration or 0.0
    first = 0.0 if start is None else start
    last = duration if end is None else min(end, duration)
    if first < 0 or (duration and first >= duration):
        raise InputRejected(
            INVALID_INPUT, f"start_time {first:g} s is outside the source's {duration:g} s"
        )
    if last <= first:
        raise InputRejected(INVALID_INPUT, "end_time must be later than start_time")
    return first, last


def copy_blocker(probe: ProbeResult) -> str | None:
    """Why the source's first video and audio streams cannot be copied into an MP4, or None."""
    if not probe.video:
        return "no_video"
    if probe.video[0].codec not in COPYABLE_VIDEO_CODECS:
        return "video_codec_not_copyable"
    if probe.audio and probe.audio[0].codec not in COPYABLE_AUDIO_CODECS:
        return "audio_codec_not_copyable"
    return None


def keyframe_tolerance(probe: ProbeResult) -> float:
    """Half a frame of the source's first video stream, in seconds."""
    rate = probe.video[0].frame_rate if probe.video else None
    return float(1 / (2 * rate)) if rate else UNKNOWN_RATE_TOLERANCE


def plan_cut(
    probe: ProbeResult, start: float, end: float, keyframes: Sequence[Keyframe] | None
) -> ClipCut:
    """Copy or re-encode ``[start, end)``, given the keyframes found near ``start`` (None when
    they are unknown). Pure."""
    blocker = copy_blocker(probe)
    if blocker is not None:
        return ClipCut(CutMethod.REENCODE, start, end, blocker)
    if start == 0:
        return ClipCut(CutMethod.COPY, 0.0, end, "start_at_beginning")
    if keyframes is None:
        return ClipCut(CutMethod.REENCODE, start, end, "keyframes_unknown")
    nearest = min(keyframes, key=lambda k: abs(k.time - start), default=None)
    if nearest is None or abs(nearest.time - start) > keyframe_tolerance(probe):
        return ClipCut(CutMethod.REENCODE, start, end, "start_between_keyframes")
    if not nearest.clean:
        return ClipCut(CutMethod.REENCODE, start, end, "open_gop_keyframe")
    return ClipCut(CutMethod.COPY, max(nearest.time, 0.0), end, "start_on_keyframe")


def _maps(probe: ProbeResult) -> list[str]:
    indexes = [s.index for s in probe.video[:1]] + [s.index for s in probe.audio[:1]]
    return [arg for index in indexes for arg in ("-map", f"0:{index}")]


def clip_argv(ffmpeg: str, source: Path, probe: ProbeResult, cut: ClipCut, out: Path) -> list[str]:
    """FFmpeg argv cutting ``cut`` out of ``source`` into an MP4 at ``out``: the first video
    and audio streams, stream-copied or re-encoded as ``cut.method`` says."""
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    if cut.start > 0:
        argv += ["-ss", f"{cut.start:.6f}"]
    argv += [*input_args(source, probe), "-t", f"{cut.duration:.6f}"]
    argv += [*_maps(probe), "-map_metadata", "-1", "-sn", "-dn"]
    if cut.method is CutMethod.COPY:
        argv += ["-c", "copy"]
    else:
        argv += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "16", "-pix_fmt", "yuv420p"]
        argv += ["-c:a", "aac", "-b:a", "192k"]
    argv += ["-movflags", "+faststart", "-f", "mp4", str(out)]
    return argv


async def _keyframes(source: Path, probe: ProbeResult, start: float) -> list[Keyframe] | None:
    """The keyframes near ``start``; None when the scan failed (the cut is then re-encoded).
    No scan when it cannot change the choice (a start of 0, streams that cannot be copied)."""
    if start == 0 or copy_blocker(probe) is not None:
        return []
    try:
        return list(await scan_keyframes(source, start, window=KEYFRAME_WINDOW))
    except (InputRejected, ProbeFailed, ProcessTimeout):
        return None


async def cut_clip(
    ffmpeg: str,
    source: Path,
    probe: ProbeResult,
    start: float,
    end: float,
    out: Path,
    *,
    timeout: float,
) -> tuple[ClipCut, str | None]:
    """Cut ``[start, end)`` of ``source`` into an MP4 at ``out`` and say how it was cut.

    A copy FFmpeg refuses is redone as a re-encode (reason ``copy_failed``); the refused copy's
    stderr tail comes back alongside, for the logs. Raises :class:`EncodeFailed` when the
    re-encode fails and ``ProcessTimeout`` (after killing FFmpeg) when a run outlasts ``timeout``.
    """
    cut = plan_cut(probe, start, end, await _keyframes(source, probe, start))
    refused: str | None = None
    if cut.method is CutMethod.COPY:
        done = await runner.run(clip_argv(ffmpeg, source, probe, cut, out), timeout=timeout)
        if done.ok:
            return cut, None
        refused = done.stderr_text()
        cut = ClipCut(CutMethod.REENCODE, start, end, "copy_failed")
    done = await runner.run(clip_argv(ffmpeg, source, probe, cut, out), timeout=timeout)
    if not done.ok:
        raise EncodeFailed("cutting the clip failed", stderr_tail=done.stderr_text())
    return cut, refused
