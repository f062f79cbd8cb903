"""FFmpeg argv for one process that decodes once and writes every rung as CMAF fMP4 HLS. Pure.

Layout written under ``out_dir``: ``{rung}/init_N.mp4``, ``{rung}/seg_00001.m4s`` ... and
``audio/`` likewise (init segments numbered in ladder order), plus the muxer's own
``ffmpeg.m3u8`` per rendition, which the packager replaces with ``index.m3u8``.
The input is always ``-f <probed demuxer> -protocol_whitelist file,pipe -i file:<absolute path>``,
so FFmpeg neither guesses the format nor interprets the path as a protocol.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from reelhouse.pipeline.ladder import AudioPlan, KeyframeMode, LadderPlan, Rung
from reelhouse.pipeline.probe import ProbeResult

AUDIO_DIR = "audio"
PLAYLIST_NAME = "index.m3u8"
FFMPEG_PLAYLIST_NAME = "ffmpeg.m3u8"  # the muxer's sliding-window list; removed by the packager
SEGMENT_PATTERN = "seg_%05d.m4s"
LOUDNORM = "loudnorm=I=-24:TP=-2:LRA=7"
_MAX_SOURCE_KEYFRAME_GAP = 8.0


@dataclass(frozen=True)
class EncodeSettings:
    preset: str = "veryfast"
    segment_seconds: int = 6
    first_segment_seconds: int = 2  # 0 (or >= segment_seconds): every segment is as long
    threads: int | None = None
    cores: int | None = None  # size each rung's x264 threads for this many cores (None: x264's own)


def encoder_threads(rungs: list[Rung], cores: int) -> list[int | None]:
    """x264 threads per encoded rung when they all run at once in one process.

    The largest rung keeps x264's own choice (``None``); each other rung gets its share of the
    cores by pixel rate, at least one thread. Every encoder sizing itself for the whole machine
    would start several times more threads than there are cores, and x264 spends CPU on each
    frame thread; the rungs running side by side keep the cores busy instead."""
    rates = [r.width * r.height * float(r.fps) for r in rungs]
    total = sum(rates) or 1.0
    return [
        None if i == 0 else max(1, math.ceil(cores * rate / total)) for i, rate in enumerate(rates)
    ]


def input_args(source: Path, probe: ProbeResult) -> list[str]:
    return [
        "-f",
        probe.demuxer,
        "-protocol_whitelist",
        "file,pipe",
        "-i",
        f"file:{source.resolve()}",
    ]


def _video_chain(rung: Rung, decimated_by: int = 1) -> str:
    """Frame-rate cut (unless the input is already cut to it), scale, pixel format, square
    pixels: the filters that turn an input at ``decimated_by`` of the source rate into ``rung``."""
    steps = [f"fps=fps={rung.fps.numerator}/{rung.fps.denominator}"]
    if rung.decimation == decimated_by:
        steps = []
    steps += [f"scale={rung.width}:{rung.height}:flags=bicubic", "format=yuv420p", "setsar=1"]
    return ",".join(steps)


def scale_parents(rungs: list[Rung]) -> list[int | None]:
    """For each encoded rung, the index of the rung it is scaled from, or ``None`` for the decoded
    source. A rung is scaled from the next larger one when that one is at least as large and keeps
    every frame it needs (a cascade: scaling 720p to 540p costs less than 1080p to 540p)."""
    parents: list[int | None] = [None]
    for i in range(1, len(rungs)):
        above, rung = rungs[i - 1], rungs[i]
        fits = above.width >= rung.width and above.height >= rung.height
        keeps_frames = rung.decimation % above.decimation == 0
        parents.append(i - 1 if fits and keeps_frames else None)
    return parents


def filter_graph(plan: LadderPlan) -> str:
    """The ``-filter_complex`` graph: the video is decoded once, each encoded rung is scaled to
    ``[vN]`` from the source or from the next larger rung (:func:`scale_parents`); audio is
    normalized to ``[aout]`` when asked. Empty when nothing is filtered."""
    parts: list[str] = []
    encoded = [r for r in plan.rungs if not r.passthrough]
    if encoded:
        parents = scale_parents(encoded)
        children = {i: [j for j, p in enumerate(parents) if p == i] for i in range(len(encoded))}
        roots = [j for j, p in enumerate(parents) if p is None]
        source = f"[0:{plan.video_index}]"
        if len(roots) == 1:
            inputs = {roots[0]: source}
        else:
            inputs = {j: f"[s{j}]" for j in roots}
            parts.append(f"{source}split={len(roots)}{''.join(inputs[j] for j in roots)}")
        for i, rung in enumerate(encoded):
            parent = parents[i]
            decimated_by = 1 if parent is None else encoded[parent].decimation
            chain = f"{inputs[i]}{_video_chain(rung, decimated_by)}"
            if not children[i]:
                parts.append(f"{chain}[v{i}]")
                continue
            for j in children[i]:
                inputs[j] = f"[c{j}]"
            outputs = [f"[v{i}]", *(inputs[j] for j in children[i])]
            parts.append(f"{chain},split={len(outputs)}{''.join(outputs)}")
    if plan.audio is not None and plan.audio.normalize:
        parts.append(
            f"[0:{plan.audio.source_index}]{LOUDNORM},aresample={plan.audio.sample_rate}[aout]"
        )
    return ";".join(parts)


def _x264_args(i: int, rung: Rung, plan: LadderPlan, preset: str) -> list[str]:
    s = f":v:{i}"
    args = [
        f"-c{s}",
        "libx264",
        f"-preset{s}",
        preset,
        f"-crf{s}",
        str(rung.crf),
        f"-maxrate{s}",
        f"{rung.maxrate_kbps}k",
        f"-bufsize{s}",
        f"{rung.bufsize_kbps}k",
        f"-profile{s}",
        "high",
        f"-pix_fmt{s}",
        "yuv420p",
        f"-sc_threshold{s}",
        "0",
        f"-forced-idr{s}",
        "1",
    ]
    if plan.keyframes is KeyframeMode.SOURCE:
        gop = math.ceil(_MAX_SOURCE_KEYFRAME_GAP * rung.fps)
        return [*args, f"-force_key_frames{s}", "source", f"-g{s}", str(gop)]
    # x264's own interval is kept longer than the forced one so only forced keyframes occur
    gop = 2 * math.ceil(plan.gop_seconds * rung.fps)
    expr = f"expr:gte(t,n_forced*{plan.gop_seconds:g})"
    return [*args, f"-force_key_frames{s}", expr, f"-g{s}", str(gop)]


def _audio_args(audio: AudioPlan) -> list[str]:
    source = "[aout]" if audio.normalize else f"0:{audio.source_index}"
    return [
        "-map",
        source,
        "-c:a",
        "aac",
        "-profile:a",
        "aac_low",
        "-b:a",
        f"{audio.bitrate_kbps}k",
        "-ac",
        str(audio.channels),
        "-ar",
        str(audio.sample_rate),
    ]


def hls_output_args(rendition_dir: Path, init_name: str, settings: EncodeSettings) -> list[str]:
    """The hls muxer options of one rendition's output, ending with its output path.

    Every rendition is its own output (its own muxer): ``hls_init_time`` keeps state shared by all
    variants of one muxer, so with ``var_stream_map`` the renditions would be cut at different
    times. ``hls_init_time`` only applies to a sliding-window list, hence ``hls_list_size 1``:
    FFmpeg's own playlist (:data:`FFMPEG_PLAYLIST_NAME`) then names only the last segment, and
    the packager writes the VOD media playlist from the segment files themselves. With a first
    segment length below the segment length the cuts are at the first keyframes after 2, 4, 8,
    14, 20 ... s (for 2 and 6 s): a short start, then the steady length."""
    d = rendition_dir.resolve()
    args = ["-f", "hls", "-hls_time", str(settings.segment_seconds), "-hls_list_size", "1"]
    if 0 < settings.first_segment_seconds < settings.segment_seconds:
        args += ["-hls_init_time", str(settings.first_segment_seconds)]
    return [
        *args,
        "-hls_segment_type",
        "fmp4",
        "-hls_fmp4_init_filename",
        init_name,
        "-hls_flags",
        "independent_segments+temp_file",
        "-start_number",
        "1",
        "-hls_segment_filename",
        str(d / SEGMENT_PATTERN),
        str(d / FFMPEG_PLAYLIST_NAME),
    ]


_NO_EXTRAS = ["-sn", "-dn", "-map_metadata", "-1", "-map_chapters", "-1"]


def transcode_argv(
    ffmpeg: str,
    source: Path,
    probe: ProbeResult,
    plan: LadderPlan,
    out_dir: Path,
    settings: EncodeSettings | None = None,
) -> list[str]:
    """The complete argv (``argv[0]`` is ``ffmpeg``) for one run that writes every rendition:
    one decode, one filter graph, one output per rendition (``init_N.mp4`` numbered in ladder
    order, the audio rendition last)."""
    settings = settings or EncodeSettings()
    argv = [
        ffmpeg,
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-y",
        "-progress",
        "pipe:1",
        "-nostats",
        *input_args(source, probe),
    ]
    graph = filter_graph(plan)
    if graph:
        argv += ["-filter_complex", graph]
    encoded_rungs = [r for r in plan.rungs if not r.passthrough]
    threads = iter(
        encoder_threads(encoded_rungs, settings.cores)
        if settings.cores
        else [None] * len(encoded_rungs)
    )
    threads_all = [] if settings.threads is None else ["-threads", str(settings.threads)]
    shared = _NO_EXTRAS + threads_all
    encoded = 0
    for i, rung in enumerate(plan.rungs):
        if rung.passthrough:
            argv += ["-map", f"0:{plan.video_index}", "-c:v:0", "copy"]
        else:
            argv += ["-map", f"[v{encoded}]", *_x264_args(0, rung, plan, settings.preset)]
            if (count := next(threads)) is not None:
                argv += ["-threads:v:0", str(count)]
            encoded += 1
        argv += [*shared, *hls_output_args(out_dir / rung.name, f"init_{i}.mp4", settings)]
    if plan.audio is not None:
        init = f"init_{len(plan.rungs)}.mp4"
        argv += [*_audio_args(plan.audio), *shared]
        argv += hls_output_args(out_dir / AUDIO_DIR, init, settings)
    return argv


class ProgressReader:
    """Turns FFmpeg ``-progress`` ``key=value`` lines into a 0-100 percentage.

    :meth:`feed` returns a percentage when a block closes (``progress=continue|end``), else
    ``None``. Pure apart from remembering the current block.
    """

    def __init__(self, duration: float | None) -> None:
        self._duration = duration
        self._out_time_us: int | None = None

    def feed(self, line: str) -> float | None:
        key, sep, value = line.strip().partition("=")
        if not sep:
            return None
        if key in ("out_time_us", "out_time_ms"):  # both are microseconds in FFmpeg
            try:
                self._out_time_us = int(value)
            except ValueError:
                self._out_time_us = None
        elif key == "progress":
            return 100.0 if value == "end" else self._percent()
        return None

    def _percent(self) -> float | None:
        if self._out_time_us is None or not self._duration or self._duration <= 0:
            return None
        done = self._out_time_us / 1_000_000 / self._duration * 100
        return min(99.9, max(0.0, done))
