"""Still thumbnails, animated GIF/WebP and storyboard sprites: parameters, FFmpeg argv, layout.

Pure: query values in, frozen parameter values (or :class:`InvalidImageParameter`) out; a
parameter value, a local input and an output path in, an argv list out; a storyboard layout in,
WebVTT / Mux JSON out. The shell that fetches the frames and runs FFmpeg lives in
``reelhouse.delivery.images``.

Parameters follow image.mux.com (``docs/images.md``). Every value is normalised (clamped to the
video, rounded, defaults filled in) before it is hashed, so equivalent URLs share one cached
image. The input is always ``-f <demuxer> -protocol_whitelist file -i file:<absolute path>``,
with the seek (``-ss``) *before* ``-i`` so FFmpeg decodes at most one GOP.
"""

from __future__ import annotations

import enum
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from reelhouse.pipeline.errors import PipelineError
from reelhouse.pipeline.playlists import MediaPlaylist

MAX_THUMBNAIL_SIDE = 2160
MAX_ANIMATED_SIDE = 640
DEFAULT_ANIMATED_WIDTH = 320
MAX_ANIMATED_FPS = 30
DEFAULT_ANIMATED_FPS = 15
DEFAULT_ANIMATED_SPAN = 5.0
MAX_ANIMATED_SPAN = 10.0
MIN_ANIMATED_SPAN = 0.25
LAST_FRAME_MARGIN = 0.1  # a seek to the very end finds no frame; stay this far before it
STORYBOARD_TILE_WIDTH = 256
STORYBOARD_COLUMNS = 10
STORYBOARD_MIN_INTERVAL = 1.0
KEYFRAME_ONLY_FROM = 2.0  # interval (s) from which decoding keyframes only is exact enough
STILL_FORMATS = frozenset({"jpg", "png", "webp"})
ANIMATED_FORMATS = frozenset({"gif", "webp"})
STORYBOARD_IMAGE_FORMATS = ("jpg", "webp")


class InvalidImageParameter(PipelineError):
    """A query parameter is malformed or out of range; the message names it and the range."""

    code = "invalid_parameters"


class FitMode(enum.StrEnum):
    PRESERVE = "preserve"  # fit inside width x height, keeping the aspect ratio
    STRETCH = "stretch"  # exactly width x height
    CROP = "crop"  # cover width x height, then cut the centre
    SMARTCROP = "smartcrop"  # Mux finds the subject; we crop the centre, like CROP
    PAD = "pad"  # fit inside, then pad with black to exactly width x height


@dataclass(frozen=True)
class ThumbnailParams:
    time: float
    width: int | None
    height: int | None
    rotate: int
    fit_mode: FitMode
    flip_v: bool
    flip_h: bool
    format: str


@dataclass(frozen=True)
class AnimatedParams:
    start: float
    end: float
    width: int | None
    height: int | None
    fps: int
    format: str

    @property
    def span(self) -> float:
        return self.end - self.start


def _number(query: Mapping[str, str], name: str, low: float, high: float) -> float | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not low <= value <= high:
        raise InvalidImageParameter(
            f"{name} must be a number between {low:g} and {high:g}, not {raw[:32]!r}"
        )
    return value


def _integer(query: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    digits = raw.strip()
    if not (digits.isascii() and digits.isdigit()) or not low <= int(digits) <= high:
        raise InvalidImageParameter(
            f"{name} must be a whole number between {low} and {high}, not {raw[:32]!r}"
        )
    return int(digits)


def _flag(query: Mapping[str, str], name: str) -> bool:
    raw = query.get(name)
    if raw is None:
        return False
    value = raw.strip().lower()
    if value in ("", "true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise InvalidImageParameter(f"{name} must be true or false, not {raw[:32]!r}")


def _choice(query: Mapping[str, str], name: str, allowed: Sequence[str], default: str) -> str:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if raw not in allowed:
        raise InvalidImageParameter(f"{name} must be one of {', '.join(allowed)}, not {raw[:32]!r}")
    return raw


def _last_moment(duration: float) -> float:
    return max(0.0, duration - LAST_FRAME_MARGIN)


def parse_thumbnail(query: Mapping[str, str], fmt: str, duration: float) -> ThumbnailParams:
    """Validated, normalised thumbnail parameters. ``time`` defaults to the middle of the
    video and is clamped inside it; unknown parameters (``token``, ...) are ignored."""
    if fmt not in STILL_FORMATS:
        raise InvalidImageParameter(f"format must be one of jpg, png, webp, not {fmt!r}")
    time = _number(query, "time", 0.0, 1e9)
    rotate = _choice(query, "rotate", ("0", "90", "180", "270"), "0")
    fit = _choice(query, "fit_mode", [m.value for m in FitMode], FitMode.PRESERVE.value)
    return ThumbnailParams(
        time=round(min(duration / 2 if time is None else time, _last_moment(duration)), 3),
        width=_integer(query, "width", 1, MAX_THUMBNAIL_SIDE),
        height=_integer(query, "height", 1, MAX_THUMBNAIL_SIDE),
        rotate=int(rotate),
        fit_mode=FitMode(fit),
        flip_v=_flag(query, "flip_v"),
        flip_h=_flag(query, "flip_h"),
        format=fmt,
    )


def parse_animated(query: Mapping[str, str], fmt: str, duration: float) -> AnimatedParams:
    """Validated, normalised animated-image parameters: ``start`` (0) to ``end`` (start + 5 s),
    a span of 0.25 to 10 s, clamped to the video; ``width`` 320 when no size is given."""
    if fmt not in ANIMATED_FORMATS:
        raise InvalidImageParameter(f"format must be one of gif, webp, not {fmt!r}")
    start = _number(query, "start", 0.0, 1e9) or 0.0
    end = _number(query, "end", 0.0, 1e9)
    end = start + DEFAULT_ANIMATED_SPAN if end is None else end
    if not MIN_ANIMATED_SPAN <= end - start <= MAX_ANIMATED_SPAN:
        raise InvalidImageParameter(
            f"end - start must be between {MIN_ANIMATED_SPAN:g} and {MAX_ANIMATED_SPAN:g} "
            f"seconds, not {end - start:g}"
        )
    width = _integer(query, "width", 1, MAX_ANIMATED_SIDE)
    height = _integer(query, "height", 1, MAX_ANIMATED_SIDE)
    if width is None and height is None:
        width = DEFAULT_ANIMATED_WIDTH
    fps = _integer(query, "fps", 1, MAX_ANIMATED_FPS) or DEFAULT_ANIMATED_FPS
    end = min(end, max(duration, MIN_ANIMATED_SPAN))
    start = max(0.0, min(start, end - MIN_ANIMATED_SPAN))
    return AnimatedParams(round(start, 3), round(end, 3), width, height, fps, fmt)


def params_hash(kind: str, params: ThumbnailParams | AnimatedParams, version: int) -> str:
    """A stable name for one rendered image of one output version (hex, 32 chars)."""
    canonical = json.dumps(
        {"kind": kind, "version": version, **asdict(params)}, sort_keys=True, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


# -- filters and argv ---------------------------------------------------------------------------

_ROTATE = {0: [], 90: ["transpose=clock"], 180: ["hflip", "vflip"], 270: ["transpose=cclock"]}
_CAP = f"scale='min(iw,{MAX_THUMBNAIL_SIDE})':'min(ih,{MAX_THUMBNAIL_SIDE})'"


def size_filters(width: int | None, height: int | None, fit: FitMode) -> list[str]:
    """Scale (and crop or pad) steps that bring a frame to the requested box."""
    if width is None and height is None:
        return [f"{_CAP}:force_original_aspect_ratio=decrease"]
    if width is None or height is None:
        return [f"scale={width or -2}:{height or -2}"]
    if fit is FitMode.STRETCH:
        return [f"scale={width}:{height}"]
    if fit in (FitMode.CROP, FitMode.SMARTCROP):
        return [
            f"scale={width}:{height}:force_original_aspect_ratio=increase",
            f"crop={width}:{height}",
        ]
    fitted = f"scale={width}:{height}:force_original_aspect_ratio=decrease"
    if fit is FitMode.PAD:
        return [fitted, f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:color=black"]
    return [fitted]


def thumbnail_filter(params: ThumbnailParams) -> str:
    """Rotate, size, then flip (Mux applies the flips last)."""
    steps = [*_ROTATE[params.rotate], *size_filters(params.width, params.height, params.fit_mode)]
    steps += (
        ["setsar=1"] + (["vflip"] if params.flip_v else []) + (["hflip"] if params.flip_h else [])
    )
    return ",".join(steps)


def animated_filter(params: AnimatedParams) -> str:
    """Frame rate and size; a GIF gets its own palette (one pass, split into palettegen)."""
    base = f"fps={params.fps},{size_filters(params.width, params.height, FitMode.PRESERVE)[0]}"
    base += ",setsar=1"
    if params.format == "gif":
        return f"{base},split[a][b];[a]palettegen=stats_mode=diff[p];[b][p]paletteuse=dither=bayer"
    return base


def _input(source: Path, demuxer: str, seek: float | None) -> list[str]:
    ss = ["-ss", f"{seek:.3f}"] if seek is not None and seek > 0 else []
    return [*ss, "-f", demuxer, "-protocol_whitelist", "file", "-i", f"file:{source.resolve()}"]


_HEAD = ["-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
_STILL_OUTPUT = {
    "jpg": ["-c:v", "mjpeg", "-q:v", "3", "-pix_fmt", "yuvj420p", "-f", "image2", "-update", "1"],
    "png": ["-c:v", "png", "-pix_fmt", "rgb24", "-f", "image2", "-update", "1"],
    "webp": ["-c:v", "libwebp", "-quality", "80", "-pix_fmt", "yuv420p", "-f", "webp"],
}
_ANIMATED_OUTPUT = {
    "gif": ["-c:v", "gif", "-loop", "0", "-f", "gif"],
    "webp": [
        "-c:v",
        "libwebp_anim",
        "-quality",
        "70",
        "-loop",
        "0",
        "-pix_fmt",
        "yuv420p",
        "-f",
        "webp",
    ],
}
_NO_OTHER_STREAMS = ["-an", "-sn", "-dn", "-map_metadata", "-1"]


def thumbnail_argv(
    ffmpeg: str, source: Path, demuxer: str, seek: float, params: ThumbnailParams, out: Path
) -> list[str]:
    """One frame at ``seek`` seconds from the start of ``source``."""
    return [
        ffmpeg,
        *_HEAD,
        *_input(source, demuxer, seek),
        "-map",
        "0:v:0",
        "-frames:v",
        "1",
        "-vf",
        thumbnail_filter(params),
        *_NO_OTHER_STREAMS,
        *_STILL_OUTPUT[params.format],
        f"file:{out.resolve()}",
    ]


def animated_argv(
    ffmpeg: str, source: Path, demuxer: str, seek: float, params: AnimatedParams, out: Path
) -> list[str]:
    """``params.span`` seconds from ``seek`` seconds into ``source``."""
    return [
        ffmpeg,
        *_HEAD,
        *_input(source, demuxer, seek),
        "-t",
        f"{params.span:.3f}",
        "-filter_complex",
        f"[0:v:0]{animated_filter(params)}",
        *_NO_OTHER_STREAMS,
        *_ANIMATED_OUTPUT[params.format],
        f"file:{out.resolve()}",
    ]


# -- storyboards --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoryboardLayout:
    """Tile ``i`` shows time ``i * interval`` and sits at column ``i % columns``, row
    ``i // columns`` of the sprite; the last tile runs to ``duration`` (a remainder under half
    an interval joins it rather than getting a tile of its own)."""

    duration: float
    interval: float
    count: int
    columns: int
    tile_width: int
    tile_height: int

    @property
    def rows(self) -> int:
        return math.ceil(self.count / self.columns)

    @property
    def keyframes_only(self) -> bool:
        return self.interval >= KEYFRAME_ONLY_FROM

    def tiles(self) -> list[tuple[float, float, int, int]]:
        """``(start, end, x, y)`` of every tile."""
        return [
            (
                round(i * self.interval, 3),
                round(self.duration if i == self.count - 1 else (i + 1) * self.interval, 3),
                (i % self.columns) * self.tile_width,
                (i // self.columns) * self.tile_height,
            )
            for i in range(self.count)
        ]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> StoryboardLayout:
        return cls(
            duration=float(raw["duration"]),
            interval=float(raw["interval"]),
            count=int(raw["count"]),
            columns=int(raw["columns"]),
            tile_width=int(raw["tile_width"]),
            tile_height=int(raw["tile_height"]),
        )


def plan_storyboard(duration: float, width: int, height: int) -> StoryboardLayout:
    """Mux's tile counts: 50 tiles under 15 minutes, else 100, but never more than one a
    second; tiles 256 px wide (height from the aspect ratio, even), 10 to a row."""
    target = 50 if duration < 15 * 60 else 100
    interval = max(duration / target, STORYBOARD_MIN_INTERVAL)
    count = max(1, math.ceil(duration / interval - 0.5))
    tile_height = max(2, round(STORYBOARD_TILE_WIDTH * height / max(width, 1) / 2) * 2)
    columns = min(count, STORYBOARD_COLUMNS)
    return StoryboardLayout(
        round(duration, 3), round(interval, 6), count, columns, STORYBOARD_TILE_WIDTH, tile_height
    )


def storyboard_argv(
    ffmpeg: str, source: Path, demuxer: str, layout: StoryboardLayout, outputs: Mapping[str, Path]
) -> list[str]:
    """One run writing the sprite in each format of ``outputs`` (``{"jpg": path, ...}``).

    Long intervals decode keyframes only (15x cheaper; exact on our 2 s GOPs). ``fps`` with
    ``eof_action=pass`` fills the final slot too; ``tile`` pads a short last row in black.
    """
    skip = ["-skip_frame", "nokey"] if layout.keyframes_only else []
    chain = (
        f"[0:v:0]fps=fps=1/{layout.interval:.6f}:start_time=0:eof_action=pass,"
        f"scale={layout.tile_width}:{layout.tile_height},setsar=1,"
        f"tile={layout.columns}x{layout.rows}"
    )
    names = [f"[o{i}]" for i in range(len(outputs))]
    graph = chain + (f",split={len(names)}{''.join(names)}" if len(names) > 1 else names[0])
    argv = [ffmpeg, *_HEAD, *skip, *_input(source, demuxer, None), "-filter_complex", graph]
    for name, (fmt, path) in zip(names, outputs.items(), strict=True):
        argv += ["-map", name, "-frames:v", "1", *_STILL_OUTPUT[fmt], f"file:{path.resolve()}"]
    return argv


def render_vtt(layout: StoryboardLayout, sprite_url: str) -> str:
    """The WebVTT thumbnail track: one cue per tile, ``{sprite_url}#xywh=x,y,w,h``."""
    lines = ["WEBVTT", ""]
    w, h = layout.tile_width, layout.tile_height
    for start, end, x, y in layout.tiles():
        lines += [
            f"{_vtt_time(start)} --> {_vtt_time(end)}",
            f"{sprite_url}#xywh={x},{y},{w},{h}",
            "",
        ]
    return "\n".join(lines)


def render_json(layout: StoryboardLayout, sprite_url: str) -> dict[str, Any]:
    """Mux's ``storyboard.json`` shape."""
    return {
        "url": sprite_url,
        "tile_width": layout.tile_width,
        "tile_height": layout.tile_height,
        "duration": layout.duration,
        "tiles": [{"start": start, "x": x, "y": y} for start, _end, x, y in layout.tiles()],
    }


def _vtt_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


# -- reading from a packaged rendition ----------------------------------------------------------


@dataclass(frozen=True)
class SegmentWindow:
    """The segments (URIs as in the playlist) that hold ``[start, end]``, and where the first
    of them starts on the video's timeline."""

    uris: tuple[str, ...]
    first_start: float


def segment_window(playlist: MediaPlaylist, start: float, end: float) -> SegmentWindow:
    """The run of segments covering ``start`` to ``end`` seconds (the last one when ``start``
    lies past the end). Each of our segments starts on a keyframe, so init + this run decodes
    by itself."""
    if not playlist.segments:
        raise InvalidImageParameter("the rendition has no segments")
    uris: list[str] = []
    first_start = 0.0
    position = 0.0
    for segment in playlist.segments:
        segment_end = position + segment.duration
        if segment_end > start and position <= end:
            if not uris:
                first_start = position
            uris.append(segment.uri)
        position = segment_end
    if not uris:
        last = playlist.segments[-1]
        return SegmentWindow((last.uri,), position - last.duration)
    return SegmentWindow(tuple(uris), first_start)


def pick_rendition(sizes: Sequence[tuple[int, int]], min_width: int, min_height: int) -> int:
    """Index of the smallest size at least ``min_width`` x ``min_height`` (else the largest):
    decoding a small rung is cheaper, and images are never upscaled from a smaller one."""
    if not sizes:
        raise ValueError("no sizes to pick from")
    order = sorted(range(len(sizes)), key=lambda i: sizes[i][0] * sizes[i][1])
    for i in order:
        if sizes[i][0] >= min_width and sizes[i][1] >= min_height:
            return i
    return order[-1]
