from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import pytest

from reelhouse.pipeline.clip import (
    ClipCut,
    CutMethod,
    clip_argv,
    clip_range,
    copy_blocker,
    keyframe_tolerance,
    plan_cut,
)
from reelhouse.pipeline.errors import InputRejected
from reelhouse.pipeline.probe import AudioStream, Keyframe

COPY, REENCODE = CutMethod.COPY, CutMethod.REENCODE
EVERY_SECOND = [Keyframe(float(t), True) for t in range(10)]


def _audio(codec: str, index: int = 1) -> AudioStream:
    return AudioStream(index, codec, True, None, 2, 48000, 128_000)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [(None, None, (0.0, 10.0)), (2.0, None, (2.0, 10.0)), (1.5, 4.0, (1.5, 4.0)), (3, 99, (3, 10))],
)
def test_clip_range_defaults_and_clamps(make_probe, start, end, expected) -> None:
    probe = make_probe(1280, 720, fps=30, duration=10.0)
    assert clip_range(probe, start, end) == expected


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [(-1, 2, "outside"), (10, 12, "outside"), (5, 5, "later than"), (6, 2, "later than")],
)
def test_clip_range_refusals_name_the_problem(make_probe, start, end, message) -> None:
    probe = make_probe(1280, 720, fps=30, duration=10.0)
    with pytest.raises(InputRejected, match=message):
        clip_range(probe, start, end)


@pytest.mark.parametrize(
    ("start", "keyframes", "method", "seek", "reason"),
    [
        (0.0, None, COPY, 0.0, "start_at_beginning"),
        (0.0, [], COPY, 0.0, "start_at_beginning"),
        (2.0, EVERY_SECOND, COPY, 2.0, "start_on_keyframe"),
        # within half a frame (1/60 s at 30 fps) of a keyframe: seek to the keyframe itself
        (2.01, EVERY_SECOND, COPY, 2.0, "start_on_keyframe"),
        (1.99, EVERY_SECOND, COPY, 2.0, "start_on_keyframe"),
        (0.01, EVERY_SECOND, COPY, 0.0, "start_on_keyframe"),
        (2.02, EVERY_SECOND, REENCODE, 2.02, "start_between_keyframes"),
        (2.5, EVERY_SECOND, REENCODE, 2.5, "start_between_keyframes"),
        (2.0, [], REENCODE, 2.0, "start_between_keyframes"),
        (2.0, None, REENCODE, 2.0, "keyframes_unknown"),
        (2.0, [Keyframe(2.0, False)], REENCODE, 2.0, "open_gop_keyframe"),
        (2.0, [Keyframe(1.995, False), Keyframe(2.001, True)], COPY, 2.001, "start_on_keyframe"),
    ],
)
def test_plan_cut_copies_only_from_a_clean_keyframe(
    make_probe, start, keyframes, method, seek, reason
) -> None:
    probe = make_probe(640, 360, fps=30, duration=10.0)
    cut = plan_cut(probe, start, 5.0, keyframes)
    assert cut == ClipCut(method, seek, 5.0, reason)


@pytest.mark.parametrize(
    ("video", "audio", "reason"),
    [
        (None, "aac", "no_video"),
        ("mpeg2video", "aac", "video_codec_not_copyable"),
        ("vp8", "vorbis", "video_codec_not_copyable"),
        ("h264", "pcm_s16le", "audio_codec_not_copyable"),
        ("h264", "aac_latm", "audio_codec_not_copyable"),
    ],
)
def test_streams_an_mp4_cannot_hold_as_they_are_are_reencoded(
    make_probe, video, audio, reason
) -> None:
    probe = make_probe(640, 360, fps=30, duration=10.0, video={"codec": video or "h264"})
    probe = replace(probe, video=probe.video if video else (), audio=(_audio(audio),))
    assert copy_blocker(probe) == reason
    for start in (0.0, 2.0):
        assert plan_cut(probe, start, 5.0, EVERY_SECOND) == ClipCut(REENCODE, start, 5.0, reason)


@pytest.mark.parametrize(
    ("video", "audio"), [("h264", "aac"), ("hevc", "mp3"), ("av1", "opus"), ("vp9", "flac")]
)
def test_copyable_streams(make_probe, video, audio) -> None:
    probe = make_probe(640, 360, fps=30, video={"codec": video})
    assert copy_blocker(replace(probe, audio=(_audio(audio),))) is None
    assert copy_blocker(make_probe(640, 360, fps=30, audio=False)) is None


def test_keyframe_tolerance_is_half_a_frame(make_probe) -> None:
    assert keyframe_tolerance(make_probe(fps=Fraction(30000, 1001))) == pytest.approx(1001 / 60000)
    assert keyframe_tolerance(make_probe(fps=25)) == pytest.approx(0.02)
    unknown = make_probe(fps=30, video={"avg_frame_rate": None, "real_frame_rate": None})
    assert keyframe_tolerance(unknown) == 0.001
    assert plan_cut(unknown, 2.01, 5.0, EVERY_SECOND).method is REENCODE


def test_reencode_argv_seeks_before_the_input_and_encodes_both_streams(make_probe) -> None:
    probe = make_probe(1280, 720, fps=30, duration=10.0)
    cut = ClipCut(REENCODE, 1.0, 3.5, "start_between_keyframes")
    argv = clip_argv("ffmpeg", Path("/in/source"), probe, cut, Path("/out/clip"))
    assert argv[:2] == ["ffmpeg", "-hide_banner"] and "-nostdin" in argv
    assert argv.index("-ss") < argv.index("-i")
    assert argv[argv.index("-ss") + 1] == "1.000000"
    assert argv[argv.index("-t") + 1] == "2.500000"
    assert argv[argv.index("-protocol_whitelist") + 1] == "file,pipe"
    assert argv[argv.index("-i") + 1] == "file:/in/source"
    assert argv[argv.index("-c:v") + 1] == "libx264" and argv[argv.index("-c:a") + 1] == "aac"
    assert "copy" not in argv
    assert argv[-3:] == ["-f", "mp4", "/out/clip"]


def test_copy_argv_copies_the_probed_streams_from_the_keyframe(make_probe) -> None:
    probe = make_probe(1280, 720, fps=30, duration=10.0, video={"index": 1})
    probe = replace(probe, audio=(_audio("aac", index=3),))
    cut = ClipCut(COPY, 2.002, 4.5, "start_on_keyframe")
    argv = clip_argv("ffmpeg", Path("/in/source"), probe, cut, Path("/out/clip"))
    assert argv[argv.index("-ss") + 1] == "2.002000"
    assert argv[argv.index("-t") + 1] == "2.498000"
    maps = [argv[i + 1] for i, arg in enumerate(argv) if arg == "-map"]
    assert maps == ["0:1", "0:3"]
    assert argv[argv.index("-c") + 1] == "copy"
    assert "-c:v" not in argv and "-crf" not in argv
    assert argv[-3:] == ["-f", "mp4", "/out/clip"]


def test_a_cut_from_the_beginning_does_not_seek(make_probe) -> None:
    probe = make_probe(640, 360, fps=30, duration=10.0, audio=False)
    argv = clip_argv("ffmpeg", Path("/in/s"), probe, ClipCut(COPY, 0.0, 4.0, "x"), Path("/o"))
    assert "-ss" not in argv and argv[argv.index("-t") + 1] == "4.000000"
    assert [argv[i + 1] for i, arg in enumerate(argv) if arg == "-map"] == ["0:0"]
