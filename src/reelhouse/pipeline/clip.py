"""Clips: a new input cut from an existing asset's source between two times.

The cut is re-encoded (accurate to the frame, whatever the source's keyframes) at high quality,
so the clip then goes through the normal pipeline like any other input. Pure argv building.
"""

from __future__ import annotations

from pathlib import Path

from reelhouse.pipeline.encode import input_args
from reelhouse.pipeline.errors import INVALID_INPUT, InputRejected
from reelhouse.pipeline.probe import ProbeResult


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


def clip_argv(
    ffmpeg: str, source: Path, probe: ProbeResult, start: float, end: float, out: Path
) -> list[str]:
    """FFmpeg argv cutting ``[start, end)`` of ``source`` into an MP4 at ``out``."""
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    argv += ["-ss", f"{start:.3f}", *input_args(source, probe), "-t", f"{end - start:.3f}"]
    argv += ["-map", "0:v:0?", "-map", "0:a:0?", "-map_metadata", "-1", "-sn", "-dn"]
    argv += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "16", "-pix_fmt", "yuv420p"]
    argv += ["-c:a", "aac", "-b:a", "192k", "-movflags", "+faststart", "-f", "mp4", str(out)]
    return argv
