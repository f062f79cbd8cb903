"""Timing media segments from their track fragments (synthetic boxes, byte for byte)."""

from __future__ import annotations

import struct

import pytest

from reelhouse.pipeline.fmp4 import TrackTiming, segment_duration, track_timing


def box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I", 8 + len(body)) + kind + body


def full(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return box(kind, bytes([version]) + flags.to_bytes(3, "big"), *payload)


def init(timescale: int, trex_duration: int = 0, version: int = 0, track: int = 1) -> bytes:
    if version == 1:
        mdhd = full(b"mdhd", 1, 0, bytes(16), struct.pack(">IQ", timescale, 0), bytes(4))
    else:
        mdhd = full(b"mdhd", 0, 0, bytes(8), struct.pack(">II", timescale, 0), bytes(4))
    tkhd = full(b"tkhd", 0, 3, bytes(8), struct.pack(">I", track), bytes(68))
    other = full(b"trex", 0, 0, struct.pack(">IIIII", track + 1, 1, 999, 0, 0))
    trex = full(b"trex", 0, 0, struct.pack(">IIIII", track, 1, trex_duration, 0, 0))
    moov = box(
        b"moov",
        box(b"trak", tkhd, box(b"mdia", mdhd)),
        box(b"mvex", other, trex),
    )
    return box(b"ftyp", b"iso6") + moov


def traf(trun: bytes, tfhd_default: int | None = None, track: int = 1) -> bytes:
    if tfhd_default is None:
        tfhd = full(b"tfhd", 0, 0x020000, struct.pack(">I", track))
    else:
        tfhd = full(b"tfhd", 0, 0x020008, struct.pack(">II", track, tfhd_default))
    tfdt = full(b"tfdt", 1, 0, struct.pack(">Q", 0))
    return box(b"traf", tfhd, tfdt, trun)


def trun_with_durations(durations: list[int]) -> bytes:
    # data offset + per-sample duration and size
    samples = b"".join(struct.pack(">II", d, 100) for d in durations)
    return full(b"trun", 0, 0x000301, struct.pack(">Ii", len(durations), 0), samples)


def trun_without_durations(count: int) -> bytes:
    samples = b"".join(struct.pack(">I", 100) for _ in range(count))  # sizes only
    return full(b"trun", 0, 0x000205, struct.pack(">IiI", count, 0, 0), samples)


def segment(*trafs: bytes) -> bytes:
    moofs = b"".join(box(b"moof", full(b"mfhd", 0, 0, struct.pack(">I", 1)), t) for t in trafs)
    return box(b"styp", b"msdh") + moofs + box(b"mdat", b"\0" * 64)


def test_timescale_from_either_mdhd_version_and_the_trex_default() -> None:
    assert track_timing(init(15360, 512)) == TrackTiming(1, 15360, 512)
    assert track_timing(init(48000, version=1)) == TrackTiming(1, 48000, 0)
    assert track_timing(init(90000, 3000, track=2)) == TrackTiming(2, 90000, 3000)
    with pytest.raises(ValueError, match="mdhd"):
        track_timing(box(b"ftyp", b"iso6"))


def test_per_sample_durations_are_summed_over_every_fragment() -> None:
    timing = TrackTiming(1, 15360, 0)
    one = segment(traf(trun_with_durations([512] * 30)))
    assert segment_duration(one, timing) == pytest.approx(1.0)
    two = segment(traf(trun_with_durations([512] * 60)), traf(trun_with_durations([512] * 30)))
    assert segment_duration(two, timing) == pytest.approx(3.0)


def test_only_the_init_segments_track_is_counted() -> None:
    """A segment muxing video (track 1) and audio (track 2): each is timed on its own."""
    video = traf(trun_with_durations([512] * 60))
    audio = traf(trun_with_durations([1024] * 94), track=2)
    both = segment(video, audio)
    assert segment_duration(both, TrackTiming(1, 15360, 0)) == pytest.approx(2.0)
    assert segment_duration(both, TrackTiming(2, 48000, 0)) == pytest.approx(94 * 1024 / 48000)


def test_default_durations_from_tfhd_then_trex() -> None:
    assert segment_duration(
        segment(traf(trun_without_durations(90), tfhd_default=1024)), TrackTiming(1, 48000, 0)
    ) == pytest.approx(90 * 1024 / 48000)
    assert segment_duration(
        segment(traf(trun_without_durations(50))), TrackTiming(1, 1000, 40)
    ) == pytest.approx(2.0)


def test_a_truncated_run_is_an_error_not_a_guess() -> None:
    whole = trun_with_durations([512] * 10)
    cut = whole[:-12]
    broken = struct.pack(">I", len(cut)) + cut[4:]  # a consistent box whose samples run short
    with pytest.raises(ValueError, match="truncated"):
        segment_duration(segment(traf(broken)), TrackTiming(1, 15360, 0))


def test_64_bit_box_sizes() -> None:
    """The box walker also reads ``size == 1`` boxes (a 64-bit size follows the type)."""
    payload = full(b"mfhd", 0, 0, struct.pack(">I", 1)) + traf(trun_with_durations([1000] * 4))
    large = struct.pack(">I", 1) + b"moof" + struct.pack(">Q", 16 + len(payload)) + payload
    assert segment_duration(large, TrackTiming(1, 1000, 0)) == pytest.approx(4.0)
