"""Media clips generated with FFmpeg on demand (no media files are committed)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()

_TESTSRC_320X240_4S = ["-f", "lavfi", "-i", "testsrc2=s=320x240:r=30:d=4"]
_X264_KEYFRAME_EVERY_SECOND = [
    *["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"],
    *["-g", "30", "-keyint_min", "30", "-sc_threshold", "0"],
]

# name -> (file name, ffmpeg arguments between the global options and the output path)
RECIPES: dict[str, tuple[str, list[str]]] = {
    # one 300x300 raw gray frame in Matroska: its header dimensions are the only ones there
    "raw300": (
        "raw300.mkv",
        [
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=300x300:r=25:d=0.04",
            "-frames:v",
            "1",
            "-c:v",
            "rawvideo",
            "-pix_fmt",
            "gray",
        ],
    ),
    # 10 s 1280x720 30p H.264 High + AAC stereo with real motion (the end-to-end upload)
    "lesson": (
        "lesson.mp4",
        [
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=1280x720:r=30:d=10",
            "-f",
            "lavfi",
            "-i",
            "sine=f=440:r=48000:d=10",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-profile:v",
            "high",
            "-pix_fmt",
            "yuv420p",
            "-g",
            "60",
            "-keyint_min",
            "60",
            "-sc_threshold",
            "0",
            "-c:a",
            "aac",
            "-ac",
            "2",
            "-shortest",
        ],
    ),
    # 4 s 640x360 30p H.264 + AAC stereo
    "small": (
        "small.mp4",
        [
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=640x360:r=30:d=4",
            "-f",
            "lavfi",
            "-i",
            "sine=f=440:r=48000:d=4",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-g",
            "60",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-ac",
            "2",
            "-shortest",
        ],
    ),
    # 4 s 1920x1080 30p H.264 High, closed 2 s GOPs, ~3 Mbit/s: qualifies for passthrough
    "hd": (
        "hd.mp4",
        [
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=1920x1080:r=30:d=4",
            "-f",
            "lavfi",
            "-i",
            "sine=f=220:r=48000:d=4",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-profile:v",
            "high",
            "-pix_fmt",
            "yuv420p",
            "-g",
            "60",
            "-keyint_min",
            "60",
            "-sc_threshold",
            "0",
            "-b:v",
            "3M",
            "-maxrate",
            "4M",
            "-bufsize",
            "8M",
            "-c:a",
            "aac",
            "-ac",
            "2",
            "-shortest",
        ],
    ),
    # 4 s 320x240 30p H.264 + AAC stereo, closed GOPs with a keyframe every second (clips)
    "keyed": (
        "keyed.mp4",
        [
            *_TESTSRC_320X240_4S,
            "-f",
            "lavfi",
            "-i",
            "sine=f=440:r=48000:d=4",
            *_X264_KEYFRAME_EVERY_SECOND,
            *["-c:a", "aac", "-ac", "2", "-shortest"],
        ],
    ),
    # the same picture with open GOPs: each keyframe after the first has leading pictures
    "open_gop": (
        "open_gop.mp4",
        [*_TESTSRC_320X240_4S, *_X264_KEYFRAME_EVERY_SECOND, "-x264-params", "open-gop=1"],
    ),
    # 4 s of AAC in an MP4 container, no video
    "audio": (
        "audio.m4a",
        ["-f", "lavfi", "-i", "sine=f=330:r=48000:d=4", "-c:a", "aac", "-ac", "2"],
    ),
    # 2 s 320x240 25p Matroska
    "tiny": (
        "tiny.mkv",
        [
            "-f",
            "lavfi",
            "-i",
            "mandelbrot=s=320x240:r=25",
            "-t",
            "2",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
        ],
    ),
}


def make_clip(name: str, folder: Path) -> Path:
    """Generate the clip ``name`` of :data:`RECIPES` into ``folder`` (once) and return its path."""
    file_name, args = RECIPES[name]
    out = folder / file_name
    if not out.exists():
        cmd = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args, str(out)]
        subprocess.run(cmd, check=True, timeout=120)
    return out
