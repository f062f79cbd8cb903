"""Static renditions: which published rendition each Mux file name is made from, and the FFmpeg
argv that remuxes it into one progressive MP4 (or M4A). Pure.

Nothing is re-encoded: a file is the video of one published rung plus the shared AAC audio
rendition, copied (``-c copy``) into a plain MP4 whose ``moov`` box comes first
(``-movflags +faststart``), so a browser can start playing it before the download ends.

Names (Mux's, see the API reference):

- ``highest.mp4``: the top rung; ``capped-1080p.mp4``: the best rung of at most 1080p;
- ``2160p.mp4`` ... ``270p.mp4``: the rung of exactly that short side (else *skipped*);
- legacy ``low.mp4`` / ``medium.mp4`` / ``high.mp4``: the best rung of at most 360p / 720p /
  1080p (``mp4_support: standard`` makes only those that differ, see :func:`standard_names`);
- ``audio.m4a``: the audio rendition alone.

A rung's fMP4 init segment followed by its media segments, byte for byte, is itself a valid
fragmented MP4 file: the job concatenates them into one local file and remuxes that (no concat
demuxer, no playlist demuxer). A passed-through top rung may instead be read from the source.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

AUDIO_NAME: Final = "audio.m4a"
HIGHEST_NAME: Final = "highest.mp4"
CAPPED_1080P_NAME: Final = "capped-1080p.mp4"
LEGACY_CAPS: Final = {"low.mp4": 360, "medium.mp4": 720, "high.mp4": 1080}
RESOLUTIONS: Final = ("2160p", "1440p", "1080p", "720p", "540p", "480p", "360p", "270p")
FMP4_DEMUXER: Final = "mov"
_RESOLUTION_NAME = re.compile(r"^([1-9][0-9]{2,3})p\.mp4$")
STATIC_NAMES: Final = frozenset(
    {AUDIO_NAME, HIGHEST_NAME, CAPPED_1080P_NAME, *LEGACY_CAPS, *(f"{r}.mp4" for r in RESOLUTIONS)}
)
"""Every file name a static rendition can have (Mux's enum: nothing else is ever made)."""


@dataclass(frozen=True)
class VideoRung:
    """A published video rendition (one rung of the ladder)."""

    name: str
    width: int
    height: int
    passthrough: bool = False

    @property
    def short_side(self) -> int:
        return min(self.width, self.height)


@dataclass(frozen=True)
class Source:
    """An FFmpeg input: a local file, its demuxer (``-f``) and the stream to take from it."""

    path: Path
    demuxer: str
    stream: str  # "v:0", "a:0" or an absolute index such as "0"


@dataclass(frozen=True)
class FileRecipe:
    """How to make one static file: its video rung (None for ``audio.m4a``) and whether the
    audio rendition goes in."""

    name: str
    rung: VideoRung | None
    audio: bool

    @property
    def ext(self) -> str:
        return self.name.rsplit(".", 1)[-1]


def file_name(resolution: str) -> str:
    """Mux's file name of a ``static_renditions`` entry (``audio-only`` -> ``audio.m4a``)."""
    if resolution == "audio-only":
        return AUDIO_NAME
    if resolution == "highest" or resolution in RESOLUTIONS:
        return f"{resolution}.mp4"
    raise ValueError(f"unknown static rendition resolution {resolution!r}")


def resolution_of(name: str) -> str | None:
    """The ``resolution`` of a file name (None for legacy names: they have none)."""
    if name == AUDIO_NAME:
        return "audio-only"
    stem = name.rsplit(".", 1)[0]
    return stem if stem == "highest" or stem in RESOLUTIONS else None


def resolution_tier(short_side: int | None) -> str:
    """Mux's ``resolution_tier`` of a file whose frame has ``short_side`` (None: audio)."""
    if short_side is None:
        return "audio-only"
    return next((f"{t}p" for t in (2160, 1440, 1080) if short_side >= t), "720p")


def _best_at_most(rungs: Sequence[VideoRung], cap: int) -> VideoRung | None:
    fitting = [r for r in rungs if r.short_side <= cap]
    return max(fitting, key=lambda r: r.short_side, default=None)


def pick_rung(name: str, rungs: Sequence[VideoRung]) -> VideoRung | None:
    """The rung ``name`` is made from, or None when the asset has none for it (skipped)."""
    if not rungs:
        return None
    if name == HIGHEST_NAME:
        return max(rungs, key=lambda r: r.short_side)
    if name == CAPPED_1080P_NAME:
        return _best_at_most(rungs, 1080) or min(rungs, key=lambda r: r.short_side)
    if name in LEGACY_CAPS:
        return _best_at_most(rungs, LEGACY_CAPS[name])
    match = _RESOLUTION_NAME.match(name)
    if match is None:
        return None
    wanted = int(match.group(1))
    return next((r for r in rungs if r.short_side == wanted), None)


def recipe(name: str, rungs: Sequence[VideoRung], has_audio: bool) -> FileRecipe | None:
    """How to make ``name`` from an asset with ``rungs`` (and audio or not); None: skipped."""
    if name not in STATIC_NAMES:
        raise ValueError(f"{name!r} is not a static rendition name")
    if name == AUDIO_NAME:
        return FileRecipe(name, None, True) if has_audio else None
    rung = pick_rung(name, rungs)
    return FileRecipe(name, rung, has_audio) if rung is not None else None


def standard_names(mp4_support: str, rungs: Sequence[VideoRung], has_audio: bool) -> list[str]:
    """The files the legacy ``mp4_support`` setting asks for on this asset.

    ``standard`` makes ``low``/``medium``/``high.mp4`` where each would differ from the one
    below it (a 360p asset gets only ``low.mp4``), or ``audio.m4a`` for an audio-only asset;
    ``capped-1080p`` and ``audio-only`` (and both, comma-separated) make those files.
    """
    names: list[str] = []
    for part in (p.strip() for p in mp4_support.split(",")):
        if part == "standard":
            names += _legacy_names(rungs) if rungs else ([AUDIO_NAME] if has_audio else [])
        elif part == "capped-1080p":
            names.append(CAPPED_1080P_NAME)
        elif part == "audio-only":
            names.append(AUDIO_NAME)
    return list(dict.fromkeys(names))


def _legacy_names(rungs: Sequence[VideoRung]) -> list[str]:
    names: list[str] = []
    below: VideoRung | None = None
    for name, cap in LEGACY_CAPS.items():
        rung = _best_at_most(rungs, cap)
        if rung is None or (below is not None and rung.short_side <= below.short_side):
            continue
        names.append(name)
        below = rung
    return names or ["low.mp4"]


def _input(source: Source) -> list[str]:
    return [
        "-f",
        source.demuxer,
        "-protocol_whitelist",
        "file",
        "-i",
        f"file:{source.path.resolve()}",
    ]


def remux_argv(
    ffmpeg: str, output: Path, *, video: Source | None, audio: Source | None
) -> list[str]:
    """The argv (``argv[0]`` is ``ffmpeg``) that copies ``video`` and ``audio`` (either may be
    None, not both) into ``output``: MP4, or M4A (``ipod`` muxer) when there is no video."""
    inputs = [s for s in (video, audio) if s is not None]
    if not inputs:
        raise ValueError("a static rendition needs video or audio")
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    for source in inputs:
        argv += _input(source)
    for index, source in enumerate(inputs):
        argv += ["-map", f"{index}:{source.stream}"]
    argv += ["-c", "copy", "-sn", "-dn", "-map_metadata", "-1", "-map_chapters", "-1"]
    argv += ["-movflags", "+faststart", "-f", "mp4" if video is not None else "ipod"]
    return [*argv, f"file:{output.resolve()}"]


def remux_timeout(duration: float | None, floor: float = 60.0) -> float:
    """Wall-clock budget of one remux: copying is fast, so a second per ten media seconds."""
    return max(floor, (duration or 0.0) / 10)
