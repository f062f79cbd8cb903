"""Locating the FFmpeg binary and asking it what it can do (for ``reelhouse doctor``)."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass

from reelhouse.pipeline import runner
from reelhouse.pipeline.errors import FFmpegNotFound

_VERSION = re.compile(r"^ffmpeg version (\S+)", re.MULTILINE)
_ENCODER_LINE = re.compile(r"^ ([VAS.])[F.][S.][X.][B.][D.] (\S+)", re.MULTILINE)


@dataclass(frozen=True)
class FFmpegInfo:
    """What a located FFmpeg binary reports about itself."""

    path: str
    version: str
    video_encoders: frozenset[str]
    audio_encoders: frozenset[str]

    def has_encoder(self, name: str) -> bool:
        return name in self.video_encoders or name in self.audio_encoders


def locate_ffmpeg(explicit: str | None = None) -> str:
    """Return the FFmpeg to run: ``explicit`` (a path or a name on PATH) if given, else the
    static build shipped by ``imageio-ffmpeg``. Raises :class:`FFmpegNotFound`."""
    if explicit:
        found = explicit if os.sep in explicit else shutil.which(explicit)
        if found and os.path.isfile(found) and os.access(found, os.X_OK):
            return found
        raise FFmpegNotFound(f"FFmpeg binary {explicit!r} is not an executable file")
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError) as exc:
        raise FFmpegNotFound("No FFmpeg binary: imageio-ffmpeg has none for this platform") from exc


def parse_version(text: str) -> str:
    """The version token of ``ffmpeg -version`` output (``"n9.0.2"``), or ``"unknown"``."""
    match = _VERSION.search(text)
    return match.group(1) if match else "unknown"


def parse_encoders(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """(video, audio) encoder names from ``ffmpeg -encoders`` output."""
    video: set[str] = set()
    audio: set[str] = set()
    for kind, name in _ENCODER_LINE.findall(text):
        if name == "=":
            continue
        (video if kind == "V" else audio if kind == "A" else set()).add(name)
    return frozenset(video), frozenset(audio)


async def query_ffmpeg(path: str, *, timeout: float = 30.0) -> FFmpegInfo:
    """Run ``-version`` and ``-encoders`` on ``path``. Raises :class:`FFmpegNotFound` if it
    does not answer like FFmpeg."""
    try:
        version = await runner.run([path, "-hide_banner", "-nostdin", "-version"], timeout=timeout)
        encoders = await runner.run(
            [path, "-hide_banner", "-nostdin", "-encoders"], timeout=timeout
        )
    except OSError as exc:
        raise FFmpegNotFound(f"FFmpeg could not be started: {exc.strerror}") from exc
    if not version.ok or not encoders.ok:
        raise FFmpegNotFound("FFmpeg did not answer -version/-encoders")
    video, audio = parse_encoders(encoders.stdout.decode("utf-8", "replace"))
    return FFmpegInfo(path, parse_version(version.stdout.decode("utf-8", "replace")), video, audio)
