"""The encode-and-package shell: run the one FFmpeg process, then write ``master.m3u8`` and
``manifest.mpd`` from the measured segment sizes.

Layout under ``out_dir``: ``{rung}/index.m3u8`` + init + ``seg_NNNNN.m4s`` per video rung,
``audio/`` likewise, ``master.m3u8``, ``manifest.mpd``. Only ``runner`` spawns the process.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from reelhouse.pipeline import dash, fmp4, playlists, runner
from reelhouse.pipeline.encode import (
    AUDIO_DIR,
    FFMPEG_PLAYLIST_NAME,
    PLAYLIST_NAME,
    EncodeSettings,
    ProgressReader,
    transcode_argv,
)
from reelhouse.pipeline.errors import EncodeFailed
from reelhouse.pipeline.ladder import LadderPlan
from reelhouse.pipeline.probe import ProbeResult

MASTER_NAME = "master.m3u8"
MPD_NAME = "manifest.mpd"
DEFAULT_ADDRESS_SPACE = 16 << 30


@dataclass(frozen=True)
class Rendition:
    """One written rendition, with what was measured from its files."""

    name: str
    kind: str  # "video" | "audio"
    playlist: str  # relative to out_dir
    init: str  # relative to out_dir
    codecs: str
    bandwidth: playlists.Bandwidth
    segments: tuple[playlists.MediaSegment, ...]  # URIs relative to out_dir
    total_bytes: int
    width: int | None = None
    height: int | None = None
    frame_rate: Fraction | None = None
    passthrough: bool = False


@dataclass(frozen=True)
class PackageResult:
    master: Path
    mpd: Path
    renditions: tuple[Rendition, ...]
    duration: float
    wall_seconds: float


def encode_timeout(duration: float | None, factor: float, floor: float) -> float:
    """Wall-clock budget: ``factor`` seconds per media second, never under ``floor``."""
    return max(floor, (duration or 0.0) * factor)


def _without_media_data(path: Path) -> bytes:
    """A segment file's boxes except ``mdat``, concatenated: all its timing is in them, and the
    media data (most of the file) is skipped, not read."""
    kept = bytearray()
    with path.open("rb") as f:
        total = os.fstat(f.fileno()).st_size
        at = 0
        while at < total:
            f.seek(at)
            found = fmp4.box_header(f.read(16), total - at)
            if found is None:
                raise EncodeFailed(f"Segment {path.name} is malformed")
            kind, _, size = found
            if kind != b"mdat":
                f.seek(at)
                kept += f.read(size)
            at += size
    return bytes(kept)


def _segment_number(path: Path) -> int:
    return int(path.stem.removeprefix("seg_"))


def _measure(out_dir: Path, name: str, kind: str) -> Rendition:
    """Measure one rendition from its files and write its VOD ``index.m3u8``.

    FFmpeg's own list (:data:`FFMPEG_PLAYLIST_NAME`, a one-entry sliding window) only proves the
    muxer finished (``EXT-X-ENDLIST``) and names the init segment; the segments are the files,
    each timed by its track fragments."""
    rendition_dir = out_dir / name
    try:
        muxed = playlists.parse_media_playlist((rendition_dir / FFMPEG_PLAYLIST_NAME).read_text())
    except FileNotFoundError:
        raise EncodeFailed(f"The {name} rendition has no playlist") from None
    files = sorted(rendition_dir.glob("seg_*.m4s"), key=_segment_number)
    if not muxed.ended or muxed.init_uri is None or not files:
        raise EncodeFailed(f"The {name} playlist is incomplete")
    init = (rendition_dir / muxed.init_uri).read_bytes()
    try:
        timing = fmp4.track_timing(init)
        segments = [
            playlists.MediaSegment(f.name, fmp4.segment_duration(_without_media_data(f), timing))
            for f in files
        ]
    except ValueError as exc:
        raise EncodeFailed(f"The {name} rendition is unreadable: {exc}") from None
    (rendition_dir / PLAYLIST_NAME).write_text(
        playlists.render_media_playlist(
            muxed.init_uri, segments, independent_segments=kind == "video"
        )
    )
    (rendition_dir / FFMPEG_PLAYLIST_NAME).unlink()
    sizes = [(s.duration, (rendition_dir / s.uri).stat().st_size) for s in segments]
    return Rendition(
        name=name,
        kind=kind,
        playlist=f"{name}/{PLAYLIST_NAME}",
        init=f"{name}/{muxed.init_uri}",
        codecs=fmp4.codec_string(init),
        bandwidth=playlists.measure_bandwidth(sizes),
        segments=tuple(playlists.MediaSegment(f"{name}/{s.uri}", s.duration) for s in segments),
        total_bytes=sum(n for _, n in sizes),
    )


def _measure_all(out_dir: Path, plan: LadderPlan) -> list[Rendition]:
    found = []
    for rung in plan.rungs:
        measured = _measure(out_dir, rung.name, "video")
        found.append(
            Rendition(
                **{
                    **measured.__dict__,
                    "width": rung.width,
                    "height": rung.height,
                    "frame_rate": rung.fps,
                    "passthrough": rung.passthrough,
                }
            )
        )
    if plan.audio is not None:
        found.append(_measure(out_dir, AUDIO_DIR, "audio"))
    return found


def write_manifests(out_dir: Path, renditions: list[Rendition], plan: LadderPlan) -> float:
    """Write ``master.m3u8`` and ``manifest.mpd``; return the presentation duration."""
    video = [r for r in renditions if r.kind == "video"]
    audio = next((r for r in renditions if r.kind == "audio"), None)
    hls_audio = (
        playlists.AudioRendition(audio.playlist, audio.codecs, plan.audio.channels, audio.bandwidth)
        if audio is not None and plan.audio is not None
        else None
    )
    variants = [
        playlists.VideoVariant(
            r.playlist,
            r.codecs,
            r.width or 0,
            r.height or 0,
            r.frame_rate or Fraction(0),
            r.bandwidth,
        )
        for r in video
    ]
    (out_dir / MASTER_NAME).write_text(playlists.render_multivariant(variants, hls_audio))
    reps = [
        dash.Representation(
            r.name, r.codecs, r.bandwidth.peak, r.init, r.segments, r.width, r.height, r.frame_rate
        )
        for r in video
    ]
    audio_rep = None
    if audio is not None and plan.audio is not None:
        audio_rep = dash.Representation(
            audio.name,
            audio.codecs,
            audio.bandwidth.peak,
            audio.init,
            audio.segments,
            sample_rate=plan.audio.sample_rate,
            channels=plan.audio.channels,
        )
    duration = max(sum(s.duration for s in r.segments) for r in renditions)
    (out_dir / MPD_NAME).write_text(dash.render_mpd(reps, audio_rep, duration))
    return duration


async def transcode(
    source: Path,
    probe: ProbeResult,
    plan: LadderPlan,
    out_dir: Path,
    *,
    ffmpeg: str,
    preset: str = "veryfast",
    timeout_factor: float = 6.0,
    min_timeout: float = 120.0,
    limits: runner.ResourceLimits | None = None,
    on_progress: Callable[[float], None] | None = None,
    first_segment_seconds: int | None = None,
) -> PackageResult:
    """Encode ``source`` per ``plan`` into ``out_dir`` (created; should be empty) and write the
    manifests. Raises :class:`EncodeFailed` or ``ProcessTimeout``; a cancelled await kills
    FFmpeg's process group. ``first_segment_seconds`` overrides :class:`EncodeSettings`' short
    start (0: every segment as long)."""
    if not plan.rungs and plan.audio is None:
        raise EncodeFailed("The plan has nothing to encode")
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in [r.name for r in plan.rungs] + ([AUDIO_DIR] if plan.audio else []):
        (out_dir / name).mkdir(exist_ok=True)
    timeout = encode_timeout(probe.duration, timeout_factor, min_timeout)
    settings = EncodeSettings(preset=preset, cores=os.cpu_count())
    if first_segment_seconds is not None:
        settings = dataclasses.replace(settings, first_segment_seconds=first_segment_seconds)
    argv = transcode_argv(ffmpeg, source, probe, plan, out_dir, settings)
    reader = ProgressReader(probe.duration)

    def on_line(line: str) -> None:
        percent = reader.feed(line)
        if percent is not None and on_progress is not None:
            on_progress(percent)

    limits = limits or runner.ResourceLimits(
        cpu_seconds=int(timeout * (os.cpu_count() or 1)), address_space_bytes=DEFAULT_ADDRESS_SPACE
    )
    done = await runner.run(argv, timeout=timeout, limits=limits, on_stdout_line=on_line)
    if not done.ok:
        raise EncodeFailed(
            f"FFmpeg exited with status {done.returncode}", stderr_tail=done.stderr_text()
        )
    renditions = _measure_all(out_dir, plan)
    duration = write_manifests(out_dir, renditions, plan)
    return PackageResult(
        out_dir / MASTER_NAME, out_dir / MPD_NAME, tuple(renditions), duration, done.wall_seconds
    )
