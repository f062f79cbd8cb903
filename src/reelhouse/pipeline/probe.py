"""Probing a local file: facts about its container and streams, as frozen dataclasses.

:func:`probe` is the I/O shell: it refuses text/playlist content by its first bytes, then runs
``probe_child.py`` in a child process (rlimits, timeout, own process group) that opens the file
with PyAV under a container allowlist and ``protocol_whitelist=file``. :func:`scan_keyframes`
runs the same child, the same way, to list the keyframes near one time. :func:`parse_probe`,
:func:`parse_keyframes` and :func:`sniff_header` are pure.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from reelhouse.pipeline import runner
from reelhouse.pipeline.errors import INVALID_INPUT, InputRejected, ProbeFailed

CONTAINER_ALLOWLIST: frozenset[str] = frozenset(
    {
        "mov,mp4,m4a,3gp,3g2,mj2",
        "matroska,webm",
        "avi",
        "mpegts",
        "flv",
        "ogg",
        "mxf",
        "wav",
        "mp3",
        "aac",
        "flac",
    }
)
"""Container format names (as libavformat reports them) we accept. Everything else (hls, dash,
concat, sdp, image2, tty, ...) is refused."""

_TEXT_SIGNATURES = (
    b"#EXTM3U",
    b"ffconcat",
    b"<?xml",
    b"<MPD",
    b"v=0",
    b"#!",
    b"<!DOCTYPE",
    b"<html",
)
_HEAD_BYTES = 4096
_CHILD = Path(__file__).with_name("probe_child.py")
DEFAULT_PROBE_LIMITS = runner.ResourceLimits(cpu_seconds=120, address_space_bytes=4 << 30)


@dataclass(frozen=True)
class VideoStream:
    """One video stream (attached cover pictures are not listed)."""

    index: int
    codec: str
    decodable: bool
    profile: str | None
    level: int | None  # H.264 style: 42 means 4.2
    width: int
    height: int
    pix_fmt: str | None
    bit_depth: int | None
    sample_aspect_ratio: Fraction  # 1 when unknown
    avg_frame_rate: Fraction | None
    real_frame_rate: Fraction | None
    bit_rate: int | None

    @property
    def frame_rate(self) -> Fraction | None:
        """The frame rate to plan with: the average rate, else the container's real rate."""
        return self.avg_frame_rate or self.real_frame_rate


@dataclass(frozen=True)
class AudioStream:
    index: int
    codec: str
    decodable: bool
    profile: str | None
    channels: int
    sample_rate: int
    bit_rate: int | None


@dataclass(frozen=True)
class GopInfo:
    """What demuxing the first seconds of the first video stream showed."""

    keyframe_count: int
    keyframe_interval_max: float | None  # seconds; a lower bound when only one keyframe was seen
    closed: bool
    constant_frame_rate: bool
    scanned_seconds: float
    scanned_bytes: int
    frames: int
    rotation: int  # degrees from the display matrix, 0/90/180/270

    @property
    def video_bit_rate(self) -> int | None:
        """Average video bit rate over the scanned span, in bit/s."""
        if self.scanned_seconds <= 0 or self.frames < 2:
            return None
        per_frame = self.scanned_seconds / (self.frames - 1)
        return int(self.scanned_bytes * 8 / (self.scanned_seconds + per_frame))


@dataclass(frozen=True)
class ProbeResult:
    format_name: str
    size_bytes: int
    duration: float | None
    bit_rate: int | None
    video: tuple[VideoStream, ...]
    audio: tuple[AudioStream, ...]
    gop: GopInfo | None

    @property
    def demuxer(self) -> str:
        """The name to pass to ``-f`` (the first of libavformat's comma-separated names)."""
        return self.format_name.split(",")[0]

    @property
    def rotation(self) -> int:
        return self.gop.rotation if self.gop else 0


@dataclass(frozen=True)
class Keyframe:
    """A keyframe of the first video stream, in seconds from the file's start (as FFmpeg's
    ``-ss`` counts). ``clean``: no picture after it in decode order is shown before it (an
    open-GOP keyframe's leading pictures reference the GOP before it)."""

    time: float
    clean: bool


def sniff_header(head: bytes) -> None:
    """Refuse content that is text, a playlist or a script rather than media. Pure.

    Raises :class:`InputRejected` for an empty head or a known text signature.
    """
    if not head:
        raise InputRejected(INVALID_INPUT, "The input file is empty")
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if any(start.startswith(sig) for sig in _TEXT_SIGNATURES):
        raise InputRejected(INVALID_INPUT, "The input is a text or playlist file, not media")


def _fraction(value: Any) -> Fraction | None:
    if not value:
        return None
    return Fraction(int(value[0]), int(value[1]))


def _video(raw: Mapping[str, Any]) -> VideoStream:
    return VideoStream(
        index=int(raw["index"]),
        codec=str(raw["codec"]),
        decodable=bool(raw["decodable"]),
        profile=raw.get("profile"),
        level=raw.get("level"),
        width=int(raw.get("width") or 0),
        height=int(raw.get("height") or 0),
        pix_fmt=raw.get("pix_fmt"),
        bit_depth=raw.get("bit_depth"),
        sample_aspect_ratio=_fraction(raw.get("sample_aspect_ratio")) or Fraction(1),
        avg_frame_rate=_fraction(raw.get("avg_frame_rate")),
        real_frame_rate=_fraction(raw.get("real_frame_rate")),
        bit_rate=raw.get("bit_rate"),
    )


def _audio(raw: Mapping[str, Any]) -> AudioStream:
    return AudioStream(
        index=int(raw["index"]),
        codec=str(raw["codec"]),
        decodable=bool(raw["decodable"]),
        profile=raw.get("profile"),
        channels=int(raw.get("channels") or 0),
        sample_rate=int(raw.get("sample_rate") or 0),
        bit_rate=raw.get("bit_rate"),
    )


def parse_probe(raw: Mapping[str, Any], size_bytes: int) -> ProbeResult:
    """Turn the child's JSON object into a :class:`ProbeResult`. Pure.

    Raises :class:`InputRejected` when the child refused the file.
    """
    if raw.get("status") == "rejected":
        if raw.get("reason") == "format_not_allowed" and raw.get("format"):
            fmt = str(raw["format"]).split(",")[0]
            raise InputRejected(
                INVALID_INPUT, f"The input container format '{fmt}' is not supported"
            )
        raise InputRejected(INVALID_INPUT, "The input is not a recognized video or audio file")
    if raw.get("status") != "ok" or raw.get("format_name") not in CONTAINER_ALLOWLIST:
        raise ProbeFailed("The probe returned an unexpected answer")
    gop = raw.get("gop")
    return ProbeResult(
        format_name=str(raw["format_name"]),
        size_bytes=size_bytes,
        duration=raw.get("duration"),
        bit_rate=raw.get("bit_rate"),
        video=tuple(_video(v) for v in raw.get("video", [])),
        audio=tuple(_audio(a) for a in raw.get("audio", [])),
        gop=GopInfo(**gop) if gop else None,
    )


def parse_keyframes(raw: Mapping[str, Any]) -> tuple[Keyframe, ...]:
    """Turn the child's keyframe answer into :class:`Keyframe` values in time order. Pure.

    Raises :class:`InputRejected` when the child refused the file and :class:`ProbeFailed`
    when the answer is malformed or the scan stopped before the end of its window.
    """
    if raw.get("status") == "rejected":
        raise InputRejected(INVALID_INPUT, "The input is not a recognized video or audio file")
    if raw.get("status") != "ok" or not isinstance(raw.get("keyframes"), list):
        raise ProbeFailed("The keyframe scan returned an unexpected answer")
    if raw.get("complete") is not True:
        raise ProbeFailed("The keyframe scan stopped before the end of its window")
    try:
        found = [Keyframe(float(k["time"]), bool(k["clean"])) for k in raw["keyframes"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise ProbeFailed("The keyframe scan returned an unexpected answer") from exc
    return tuple(sorted(found, key=lambda k: k.time))


def _child_argv(python: str, path: Path, mode: list[str]) -> list[str]:
    demuxers = ",".join(sorted({name.split(",")[0] for name in CONTAINER_ALLOWLIST}))
    return [
        python,
        "-I",
        str(_CHILD),
        "--formats",
        ";".join(sorted(CONTAINER_ALLOWLIST)),
        "--demuxers",
        demuxers,
        *mode,
        str(path.resolve()),
    ]


def probe_argv(
    path: Path, *, python: str = sys.executable, scan_seconds: float = 20.0
) -> list[str]:
    """The child's argv: ``python -I`` (no env, no user site) running ``probe_child.py``."""
    return _child_argv(python, path, ["--scan", f"{scan_seconds:g}"])


def keyframes_argv(
    path: Path, near: float, *, window: float, python: str = sys.executable
) -> list[str]:
    """The child's argv listing the keyframes within ``window`` seconds of ``near``."""
    mode = ["--keyframes-near", f"{near:.6f}", "--window", f"{window:.6f}"]
    return _child_argv(python, path, mode)


async def _run_child(
    path: Path, argv: list[str], timeout: float, limits: runner.ResourceLimits
) -> tuple[int, dict[str, Any]]:
    """Sniff ``path``, run the child and return the file's size and the child's JSON object."""
    with path.open("rb") as handle:
        size = path.stat().st_size
        sniff_header(handle.read(_HEAD_BYTES))
    done = await runner.run(argv, timeout=timeout, limits=limits)
    if not done.ok:
        raise ProbeFailed(f"The probe process exited with status {done.returncode}")
    try:
        raw = json.loads(done.stdout)
    except ValueError as exc:
        raise ProbeFailed("The probe process printed no valid JSON") from exc
    if not isinstance(raw, dict):
        raise ProbeFailed("The probe process printed no JSON object")
    return size, raw


async def probe(
    path: Path,
    *,
    python: str = sys.executable,
    timeout: float = 60.0,
    limits: runner.ResourceLimits = DEFAULT_PROBE_LIMITS,
    scan_seconds: float = 20.0,
) -> ProbeResult:
    """Probe the local file ``path`` in a child process.

    Raises :class:`InputRejected` (empty, text/playlist, not allowed or not media),
    :class:`ProbeFailed` (the child crashed or answered nonsense) or ``ProcessTimeout``.
    """
    argv = probe_argv(path, python=python, scan_seconds=scan_seconds)
    size, raw = await _run_child(path, argv, timeout, limits)
    return parse_probe(raw, size)


async def scan_keyframes(
    path: Path,
    near: float,
    *,
    window: float = 1.0,
    python: str = sys.executable,
    timeout: float = 30.0,
    limits: runner.ResourceLimits = DEFAULT_PROBE_LIMITS,
) -> tuple[Keyframe, ...]:
    """The first video stream's keyframes within ``window`` seconds of ``near``, read by the
    probe child (same allowlists, rlimits, timeout and process group as :func:`probe`).

    Raises like :func:`probe`, and :class:`ProbeFailed` when the scan could not finish.
    """
    argv = keyframes_argv(path, near, window=window, python=python)
    _size, raw = await _run_child(path, argv, timeout, limits)
    return parse_keyframes(raw)
