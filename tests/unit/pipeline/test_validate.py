from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from reelhouse.pipeline.errors import InputRejected
from reelhouse.pipeline.probe import ProbeResult
from reelhouse.pipeline.validate import InputLimits, MediaKind, format_duration, validate

MakeProbe = Callable[..., ProbeResult]


def rejection(probe: object, limits: InputLimits | None = None) -> InputRejected:
    with pytest.raises(InputRejected) as caught:
        validate(probe, limits or InputLimits())  # type: ignore[arg-type]
    assert caught.value.type == "invalid_input"
    return caught.value


def test_video_and_audio_only(make_probe: MakeProbe) -> None:
    assert validate(make_probe(), InputLimits()) is MediaKind.VIDEO
    assert validate(make_probe(has_video=False), InputLimits()) is MediaKind.AUDIO_ONLY


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"size_bytes": 0}, "The input file is empty"),
        ({"has_video": False, "audio": False}, "The input has no video or audio stream"),
        ({"duration": 13 * 3600 + 300}, "Input duration 13:05:00 exceeds the 12:00:00 limit"),
        ({"duration": None}, "The input duration could not be determined"),
        ({"width": 5000, "height": 2000}, "Input width 5000 exceeds the 4096 limit"),
        ({"width": 2000, "height": 4100}, "Input height 4100 exceeds the 4096 limit"),
        ({"fps": 240}, "Input frame rate 240 fps exceeds the 120 fps limit"),
        ({"width": 0, "height": 0}, "The input video stream has no frame size"),
        (
            {"video": {"decodable": False}, "audio": False},
            "The input has no video or audio stream that can be decoded",
        ),
    ],
)
def test_messages(make_probe: MakeProbe, changes: dict[str, object], message: str) -> None:
    assert rejection(make_probe(**changes)).message == message  # type: ignore[arg-type]


def test_undecodable_video_with_audio_is_audio_only(make_probe: MakeProbe) -> None:
    assert validate(make_probe(video={"decodable": False}), InputLimits()) is MediaKind.AUDIO_ONLY


def test_custom_duration_limit(make_probe: MakeProbe) -> None:
    error = rejection(
        make_probe(duration=5 * 3600 + 130), replace(InputLimits(), max_duration=4 * 3600)
    )
    assert str(error) == "Input duration 5:02:10 exceeds the 4:00:00 limit"


def test_tier_limits(make_probe: MakeProbe) -> None:
    assert InputLimits.for_tier("2160p").max_width == 8192
    assert InputLimits.for_tier("1080p").max_width == 4096
    assert validate(make_probe(7680, 4320), InputLimits.for_tier("2160p")) is MediaKind.VIDEO


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0:00:00"), (59.6, "0:01:00"), (47105, "13:05:05")]
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
