"""Timing media segments from their track fragments (synthetic boxes, byte for byte), and the
packager timing a rendition from its files."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from reelhouse.pipeline import package
from reelhouse.pipeline.errors import EncodeFailed
from reelhouse.pipeline.fmp4 import TrackTiming, box_header, segment_duration, track_timing


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


def test_box_headers() -> None:
    assert box_header(struct.pack(">I", 24) + b"moof", 100) == (b"moof", 8, 24)
    large = struct.pack(">I", 1) + b"mdat" + struct.pack(">Q", 1 << 33)
    assert box_header(large, 1 << 34) == (b"mdat", 16, 1 << 33)
    # size 0: the box runs to the end of what contains it
    assert box_header(struct.pack(">I", 0) + b"mdat", 500) == (b"mdat", 8, 500)
    assert box_header(b"\0\0\0", 100) is None  # cut short
    assert box_header(large[:12], 1 << 34) is None  # the 64-bit size cut short
    assert box_header(struct.pack(">I", 4) + b"free", 100) is None  # smaller than its header
    assert box_header(struct.pack(">I", 200) + b"moof", 100) is None  # past the container's end


def rendition(out: Path, segments: list[bytes], *, ended: bool = True) -> Path:
    """A rendition directory as FFmpeg leaves it: init, segments, its one-entry list."""
    d = out / "360p"
    d.mkdir()
    (d / "init_0.mp4").write_bytes(init(15360))
    for i, data in enumerate(segments, 1):
        (d / f"seg_{i:05d}.m4s").write_bytes(data)
    last = f"seg_{len(segments):05d}.m4s"
    listing = f'#EXTM3U\n#EXT-X-MAP:URI="init_0.mp4"\n#EXTINF:1.000000,\n{last}\n'
    (d / "ffmpeg.m3u8").write_text(listing + ("#EXT-X-ENDLIST\n" if ended else ""))
    return d


def test_a_rendition_is_timed_from_its_segment_files(tmp_path: Path) -> None:
    two_s, one_s = (segment(traf(trun_with_durations([512] * n))) for n in (60, 30))
    d = rendition(tmp_path, [two_s, one_s])
    measured = package._measure(tmp_path, "360p", "video")
    assert [(s.uri, s.duration) for s in measured.segments] == [
        ("360p/seg_00001.m4s", 2.0),
        ("360p/seg_00002.m4s", 1.0),
    ]
    assert measured.init == "360p/init_0.mp4"
    text = (d / "index.m3u8").read_text()
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in text and text.endswith("#EXT-X-ENDLIST\n")
    assert "#EXTINF:2.000000,\nseg_00001.m4s\n#EXTINF:1.000000,\nseg_00002.m4s\n" in text
    assert not (d / "ffmpeg.m3u8").exists()


def test_unfinished_or_broken_renditions_fail_clearly(tmp_path: Path) -> None:
    whole = segment(traf(trun_with_durations([512] * 60)))
    (tmp_path / "a").mkdir()
    rendition(tmp_path / "a", [whole], ended=False)
    with pytest.raises(EncodeFailed, match="The 360p playlist is incomplete"):
        package._measure(tmp_path / "a", "360p", "video")
    (tmp_path / "b").mkdir()
    rendition(tmp_path / "b", [whole[:-10]])  # the media data cut short
    with pytest.raises(EncodeFailed, match=r"Segment seg_00001\.m4s is malformed"):
        package._measure(tmp_path / "b", "360p", "video")
    (tmp_path / "c" / "360p").mkdir(parents=True)
    with pytest.raises(EncodeFailed, match="The 360p rendition has no playlist"):
        package._measure(tmp_path / "c", "360p", "video")
