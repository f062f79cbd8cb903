"""Probe child: ``python -I probe_child.py --formats NAMES --demuxers NAMES --scan S PATH``.

Runs in its own process (started by :mod:`reelhouse.pipeline.probe` through the runner, with
rlimits and a timeout) because demuxing untrusted bytes is the riskiest thing we do. It imports
only the standard library and PyAV, so it also works as a plain script under ``python -I``.

Prints one JSON object on stdout: ``{"status": "ok", ...facts}`` or
``{"status": "rejected", "reason": "format_not_allowed" | "unrecognized", "format": ...}``.
With ``--keyframes-near T --window W`` it lists instead the first video stream's keyframes
within ``W`` seconds of ``T`` (times from the file's start, as FFmpeg's ``-ss`` counts them):
``{"status": "ok", "keyframes": [{"time": s, "clean": bool}], "complete": bool}``.
The file is opened with ``protocol_whitelist=file`` and ``format_whitelist`` set to the allowed
demuxers, so a playlist or script format is refused before it can open anything it references.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from fractions import Fraction
from typing import Any

import av

_MAX_SCAN_PACKETS = 50_000
_LEADING_MARGIN = Fraction(1, 2)  # seconds of decode order read past the window
_SEEK_LEAD = Fraction(2)  # seconds before the window that demuxing starts from


def _ratio(value: Fraction | None) -> list[int] | None:
    if value is None or value.denominator == 0 or value.numerator == 0:
        return None
    return [value.numerator, value.denominator]


def _decodable(name: str | None) -> bool:
    if not name:
        return False
    try:
        av.Codec(name, "r")
    except (ValueError, av.error.FFmpegError):
        return False
    return True


def _bit_depth(pix_fmt: str | None) -> int | None:
    if not pix_fmt:
        return None
    try:
        return int(av.VideoFormat(pix_fmt).components[0].bits)
    except (ValueError, IndexError):
        return None


def _video_facts(stream: Any) -> dict[str, Any]:
    cc = stream.codec_context
    sar = cc.sample_aspect_ratio or stream.sample_aspect_ratio
    return {
        "index": stream.index,
        "codec": cc.name,
        "decodable": _decodable(cc.name),
        "profile": cc.profile,
        "level": cc.level if cc.level and cc.level > 0 else None,
        "width": cc.width,
        "height": cc.height,
        "pix_fmt": cc.pix_fmt,
        "bit_depth": _bit_depth(cc.pix_fmt),
        "sample_aspect_ratio": _ratio(sar),
        "avg_frame_rate": _ratio(stream.average_rate),
        "real_frame_rate": _ratio(stream.base_rate),
        "bit_rate": cc.bit_rate or None,
    }


def _audio_facts(stream: Any) -> dict[str, Any]:
    cc = stream.codec_context
    return {
        "index": stream.index,
        "codec": cc.name,
        "decodable": _decodable(cc.name),
        "profile": cc.profile,
        "channels": cc.layout.nb_channels if cc.layout else 0,
        "sample_rate": cc.sample_rate,
        "bit_rate": cc.bit_rate or None,
    }


def _scan_video(container: Any, stream: Any, seconds: float) -> dict[str, Any]:
    """Demux the first ``seconds`` of ``stream``: keyframe times, closed GOPs, CFR, size."""
    tb = stream.time_base
    keyframes: list[int] = []
    pts_list: list[int] = []
    closed = True
    payload = 0
    rotation = 0
    decoded_one = False
    start: int | None = None
    for count, packet in enumerate(container.demux(stream)):
        if packet.pts is None or count > _MAX_SCAN_PACKETS:
            if packet.size == 0 or count > _MAX_SCAN_PACKETS:
                break
            continue
        start = packet.pts if start is None else start
        if float((packet.pts - start) * tb) > seconds:
            break
        payload += packet.size
        pts_list.append(packet.pts)
        if packet.is_keyframe:
            keyframes.append(packet.pts)
        elif keyframes and packet.pts < keyframes[-1] and len(keyframes) > 1:
            closed = False  # a leading picture shown before its keyframe: an open GOP
        if not decoded_one:
            for frame in stream.codec_context.decode(packet):
                rotation = int(getattr(frame, "rotation", 0) or 0)
                decoded_one = True
                break
    return _gop_summary(keyframes, sorted(pts_list), closed, payload, rotation, tb)


def _gop_summary(
    keyframes: list[int], pts: list[int], closed: bool, payload: int, rotation: int, tb: Fraction
) -> dict[str, Any]:
    gaps = [b - a for a, b in itertools.pairwise(keyframes)]
    if pts and keyframes:
        gaps.append(pts[-1] - keyframes[-1])
    deltas = [b - a for a, b in itertools.pairwise(pts)]
    span = float((pts[-1] - pts[0]) * tb) if len(pts) > 1 else 0.0
    cfr = bool(deltas) and max(deltas) - min(deltas) <= max(1, min(deltas) // 100)
    return {
        "keyframe_count": len(keyframes),
        "keyframe_interval_max": float(max(gaps) * tb) if gaps else None,
        "closed": closed,
        "constant_frame_rate": cfr,
        "scanned_seconds": span,
        "scanned_bytes": payload,
        "frames": len(pts),
        "rotation": rotation % 360,
    }


def _open(path: str, formats: set[str], demuxers: str) -> tuple[Any, dict[str, Any] | None]:
    """The opened container, or None and the refusal to print."""
    options = {"protocol_whitelist": "file", "format_whitelist": demuxers}
    try:
        container = av.open("file:" + path, mode="r", options=options)
    except av.error.FFmpegError as exc:
        reason = "format_not_allowed" if "whitelist" in str(exc).lower() else "unrecognized"
        return None, {"status": "rejected", "reason": reason, "format": None}
    name = container.format.name
    if name not in formats:
        container.close()
        return None, {"status": "rejected", "reason": "format_not_allowed", "format": name}
    return container, None


def _videos(container: Any) -> list[Any]:
    """The video streams, attached cover pictures left out."""
    return [
        s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic
    ]


def probe(path: str, formats: set[str], demuxers: str, scan_seconds: float) -> dict[str, Any]:
    container, refusal = _open(path, formats, demuxers)
    if refusal is not None:
        return refusal
    with container:
        name = container.format.name
        videos = _videos(container)
        facts: dict[str, Any] = {
            "status": "ok",
            "format_name": name,
            "duration": container.duration / 1_000_000 if container.duration else None,
            "bit_rate": container.bit_rate or None,
            "video": [_video_facts(s) for s in videos],
            "audio": [_audio_facts(s) for s in container.streams.audio],
            "gop": None,
        }
        if videos and facts["video"][0]["decodable"]:
            # A frame that cannot be read (truncated, or too large to allocate) leaves the
            # header facts standing, so validation can name what is wrong with them.
            try:
                facts["gop"] = _scan_video(container, videos[0], scan_seconds)
            except av.error.FFmpegError:
                facts["scan_failed"] = True
        return facts


def _keyframe_times(
    container: Any, stream: Any, near: float, window: float
) -> tuple[list[dict[str, Any]], bool]:
    """Demux ``stream`` from a little before ``near - window`` until decode times pass
    ``near + window`` (plus a margin to see the last keyframe's leading pictures).

    A keyframe is clean when no picture after it in decode order is shown before it: an
    open-GOP keyframe's leading pictures reference the GOP before, so a cut there is broken.
    """
    tb = stream.time_base
    origin = Fraction(container.start_time or 0, 1_000_000)
    first, last = Fraction(near - window), Fraction(near + window)
    if first - _SEEK_LEAD > 0:
        # Some demuxers (MPEG-TS) land near rather than at or before the target: start early.
        seek_to = int((first - _SEEK_LEAD + origin) / tb)
        container.seek(seek_to, backward=True, any_frame=False, stream=stream)
    keyframes: list[dict[str, Any]] = []
    for count, packet in enumerate(container.demux(stream)):
        if count > _MAX_SCAN_PACKETS:
            return keyframes, False
        if packet.pts is None:
            if packet.size == 0:
                break
            continue
        shown = packet.pts * tb - origin
        decoded = (packet.pts if packet.dts is None else packet.dts) * tb - origin
        if decoded > last + _LEADING_MARGIN:
            break
        if packet.is_keyframe:
            keyframes.append({"time": shown, "clean": True})
        elif keyframes and shown < keyframes[-1]["time"]:
            keyframes[-1]["clean"] = False
    kept = [
        {"time": float(k["time"]), "clean": k["clean"]}
        for k in keyframes
        if first <= k["time"] <= last
    ]
    return kept, True


def keyframes_near(
    path: str, formats: set[str], demuxers: str, near: float, window: float
) -> dict[str, Any]:
    container, refusal = _open(path, formats, demuxers)
    if refusal is not None:
        return refusal
    with container:
        videos = _videos(container)
        if not videos:
            return {"status": "ok", "keyframes": [], "complete": True}
        keyframes, complete = _keyframe_times(container, videos[0], near, window)
        return {"status": "ok", "keyframes": keyframes, "complete": complete}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--formats", required=True)
    parser.add_argument("--demuxers", required=True)
    parser.add_argument("--scan", type=float, default=20.0)
    parser.add_argument("--keyframes-near", type=float, default=None)
    parser.add_argument("--window", type=float, default=1.0)
    parser.add_argument("path")
    args = parser.parse_args(argv)
    formats = set(args.formats.split(";"))
    try:
        if args.keyframes_near is not None:
            result = keyframes_near(
                args.path, formats, args.demuxers, args.keyframes_near, args.window
            )
        else:
            result = probe(args.path, formats, args.demuxers, args.scan)
    except av.error.FFmpegError as exc:
        result = {
            "status": "rejected",
            "reason": "unrecognized",
            "format": None,
            "detail": str(exc),
        }
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
