"""Reading fMP4 (CMAF) files: codec strings out of init segments (RFC 6381 ``CODECS`` values) and
media segment durations out of their track fragments. Pure."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

AAC_LC = "mp4a.40.2"


def avc_codec_string(init: bytes) -> str | None:
    """``avc1.PPCCLL`` from the ``avcC`` box of an init segment, or ``None`` without one."""
    at = init.find(b"avcC")
    if at < 0 or len(init) < at + 8:
        return None
    profile, compat, level = init[at + 5], init[at + 6], init[at + 7]
    return f"avc1.{profile:02x}{compat:02x}{level:02x}"


def codec_string(init: bytes) -> str:
    """The codec string for a one-track init segment: H.264 from ``avcC``, else AAC-LC."""
    return avc_codec_string(init) or AAC_LC


def avc_codec_from_profile(profile: str | None, level: int | None) -> str:
    """A best-effort ``avc1`` string from probed profile/level names (used without an init)."""
    profile_idc = {"Baseline": 0x42, "Constrained Baseline": 0x42, "Main": 0x4D, "High": 0x64}
    compat = 0x40 if profile == "Constrained Baseline" else 0
    return f"avc1.{profile_idc.get(profile or '', 0x64):02x}{compat:02x}{(level or 40):02x}"


# --------------------------------------------------------------------------- segment durations

_CONTAINERS = {b"moov", b"trak", b"mdia", b"mvex", b"moof", b"traf"}


def box_header(head: bytes, available: int) -> tuple[bytes, int, int] | None:
    """``(type, header length, box size)`` from the first bytes of a box (8, or 16 when the size
    is 64-bit), ``available`` being the bytes from the box's start to the end of what contains
    it (a size of 0 means all of them). ``None`` when the header is cut short or the box is
    smaller than its header or larger than ``available``."""
    if len(head) < 8 or available < 8:
        return None
    size, kind, header = _u32(head, 0), head[4:8], 8
    if size == 1:
        if len(head) < 16:
            return None
        size, header = int.from_bytes(head[8:16], "big"), 16
    elif size == 0:
        size = available
    if size < header or size > available:
        return None
    return kind, header, size


def _boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int, int]]:
    """``(type, payload start, box end)`` of each box in ``data[start:end]``; stops at a
    truncated or malformed box."""
    end = len(data) if end is None else end
    at = start
    while (found := box_header(data[at : at + 16], end - at)) is not None:
        kind, header, size = found
        yield kind, at + header, at + size
        at += size


def _find(
    data: bytes, path: tuple[bytes, ...], start: int = 0, end: int | None = None
) -> list[tuple[int, int]]:
    """Payload ranges of every box at ``path`` (descending through container boxes)."""
    found: list[tuple[int, int]] = []
    for kind, body, stop in _boxes(data, start, end):
        if kind != path[0]:
            continue
        if len(path) == 1:
            found.append((body, stop))
        elif kind in _CONTAINERS:
            found += _find(data, path[1:], body, stop)
    return found


def _u32(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 4], "big")


@dataclass(frozen=True)
class TrackTiming:
    """What an init segment says about timing its media segments' samples of one track."""

    track_id: int
    timescale: int
    default_sample_duration: int  # from ``trex``; 0 when absent


def _need(at: int, end: int, what: str) -> None:
    if at > end:
        raise ValueError(f"{what} is truncated")


def track_timing(init: bytes) -> TrackTiming:
    """The first track's id (``tkhd``), ``mdhd`` timescale and ``trex`` default duration."""
    traks = _find(init, (b"moov", b"trak"))
    headers = _find(init, (b"mdia", b"mdhd"), *traks[0]) if traks else []
    ids = _find(init, (b"tkhd",), *traks[0]) if traks else []
    if not headers or not ids:
        raise ValueError("The init segment has no track or media header (tkhd, mdhd)")
    body, end = ids[0]
    at = body + (20 if init[body] == 1 else 12)
    _need(at + 4, end, "The track header (tkhd)")
    track_id = _u32(init, at)
    body, end = headers[0]
    at = body + (20 if init[body] == 1 else 12)
    _need(at + 4, end, "The media header (mdhd)")
    timescale = _u32(init, at)
    if timescale <= 0:
        raise ValueError("The init segment's timescale is zero")
    default = 0
    for body, end in _find(init, (b"moov", b"mvex", b"trex")):
        _need(body + 16, end, "The track extends box (trex)")
        if _u32(init, body + 4) == track_id:
            default = _u32(init, body + 12)
    return TrackTiming(track_id, timescale, default)


def _traf_ticks(data: bytes, body: int, stop: int, timing: TrackTiming) -> int:
    """Sample ticks of one track fragment, 0 when it belongs to another track."""
    default = timing.default_sample_duration
    for kind, at, end in _boxes(data, body, stop):
        if kind == b"tfhd":
            _need(at + 8, end, "A track fragment header (tfhd)")
            if _u32(data, at + 4) != timing.track_id:
                return 0
            flags = int.from_bytes(data[at + 1 : at + 4], "big")
            offset = at + 8 + (8 if flags & 0x01 else 0) + (4 if flags & 0x02 else 0)
            if flags & 0x08:
                _need(offset + 4, end, "A track fragment header (tfhd)")
                default = _u32(data, offset)
    ticks = 0
    for kind, at, end in _boxes(data, body, stop):
        if kind != b"trun":
            continue
        _need(at + 8, end, "A track run (trun)")
        flags = int.from_bytes(data[at + 1 : at + 4], "big")
        count = _u32(data, at + 4)
        if not flags & 0x100:
            ticks += count * default
            continue
        cursor = at + 8 + (4 if flags & 0x01 else 0) + (4 if flags & 0x04 else 0)
        stride = 4 * bin(flags & 0xF00).count("1")
        _need(cursor + count * stride, end, "A track run (trun)")
        ticks += sum(_u32(data, cursor + i * stride) for i in range(count))
    return ticks


def segment_duration(segment: bytes, timing: TrackTiming) -> float:
    """Seconds of ``timing``'s track in one fMP4 media segment: the sum of its samples'
    durations (``trun``, else ``tfhd``'s default, else the init's ``trex`` default) over every
    fragment. Other tracks' fragments are not counted."""
    ticks = sum(
        _traf_ticks(segment, body, stop, timing)
        for body, stop in _find(segment, (b"moof", b"traf"))
    )
    return ticks / timing.timescale
