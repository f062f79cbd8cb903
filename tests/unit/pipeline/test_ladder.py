from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import pytest

from reelhouse.pipeline.ladder import (
    KeyframeMode,
    Tier,
    VideoQuality,
    even,
    plan_ladder,
    rung_frame_rate,
)
from reelhouse.pipeline.probe import ProbeResult

MakeProbe = Callable[..., ProbeResult]


def sizes(plan) -> list[tuple[str, int, int]]:  # type: ignore[no-untyped-def]
    return [(r.name, r.width, r.height) for r in plan.rungs]


LANDSCAPE_1080 = [
    ("1080p", 1920, 1080),
    ("720p", 1280, 720),
    ("540p", 960, 540),
    ("360p", 640, 360),
    ("240p", 426, 240),
]


@pytest.mark.parametrize(
    ("width", "height", "tier", "expected"),
    [
        (1920, 1080, Tier.P1080, LANDSCAPE_1080),
        (3840, 2160, Tier.P1080, LANDSCAPE_1080),
        (3840, 2160, Tier.P1440, [("1440p", 2560, 1440), *LANDSCAPE_1080]),
        (
            3840,
            2160,
            Tier.P2160,
            [("2160p", 3840, 2160), ("1440p", 2560, 1440), *LANDSCAPE_1080],
        ),
        (854, 480, Tier.P1080, [("480p", 854, 480), ("360p", 640, 360), ("240p", 428, 240)]),
        (640, 360, Tier.P1080, [("360p", 640, 360), ("240p", 426, 240)]),
        (
            1080,
            1920,
            Tier.P1080,
            [
                ("1080p", 1080, 1920),
                ("720p", 720, 1280),
                ("540p", 540, 960),
                ("360p", 360, 640),
                ("240p", 240, 426),
            ],
        ),
        (641, 361, Tier.P1080, [("360p", 640, 360), ("240p", 426, 240)]),
        (160, 120, Tier.P1080, [("120p", 160, 120)]),
    ],
)
def test_rungs(
    make_probe: MakeProbe, width: int, height: int, tier: Tier, expected: list[object]
) -> None:
    plan = plan_ladder(
        make_probe(width, height, video={"profile": "Main"}), max_resolution_tier=tier
    )
    assert sizes(plan) == expected
    assert all(r.width % 2 == 0 and r.height % 2 == 0 for r in plan.rungs)
    assert all(r.width <= max(width, height) and r.height <= max(width, height) for r in plan.rungs)


def test_caps_follow_apple_ladder(make_probe: MakeProbe) -> None:
    plan = plan_ladder(make_probe(video={"profile": "Main"}))
    assert [(r.maxrate_kbps, r.bufsize_kbps) for r in plan.rungs] == [
        (6000, 12000),
        (3000, 6000),
        (2000, 4000),
        (800, 1600),
        (300, 600),
    ]


def test_rotated_source_is_planned_as_displayed(make_probe: MakeProbe) -> None:
    plan = plan_ladder(make_probe(1920, 1080, gop={"rotation": 90}))
    assert sizes(plan)[0] == ("1080p", 1080, 1920)
    assert "rotated" in plan.passthrough_blockers


def test_anamorphic_source_uses_display_aspect(make_probe: MakeProbe) -> None:
    plan = plan_ladder(make_probe(720, 576, video={"sample_aspect_ratio": Fraction(16, 15)}))
    assert sizes(plan)[0] == ("540p", 720, 540)  # 576 is within 10 % of 540: no own rung


@pytest.mark.parametrize(
    ("source", "short", "expected"),
    [
        (Fraction(60), 1080, Fraction(60)),
        (Fraction(60), 720, Fraction(60)),
        (Fraction(60), 540, Fraction(30)),
        (Fraction(60000, 1001), 360, Fraction(30000, 1001)),
        (Fraction(50), 360, Fraction(25)),
        (Fraction(120), 1080, Fraction(60)),
        (Fraction(120), 360, Fraction(30)),
        (Fraction(24000, 1001), 240, Fraction(24000, 1001)),
        (Fraction(30), 240, Fraction(30)),
    ],
)
def test_frame_rate(source: Fraction, short: int, expected: Fraction) -> None:
    assert rung_frame_rate(source, short)[0] == expected


def test_sixty_fps_ladder(make_probe: MakeProbe) -> None:
    plan = plan_ladder(make_probe(fps=60, video={"profile": "Main"}))
    assert [(r.name, r.fps, r.decimation) for r in plan.rungs] == [
        ("1080p", 60, 1),
        ("720p", 60, 1),
        ("540p", 30, 2),
        ("360p", 30, 2),
        ("240p", 30, 2),
    ]


def test_quality_changes_crf(make_probe: MakeProbe) -> None:
    basic = plan_ladder(make_probe(), video_quality=VideoQuality.BASIC)
    plus = plan_ladder(make_probe(), video_quality=VideoQuality.PLUS)
    assert {r.crf for r in basic.rungs} == {23}
    assert {r.crf for r in plus.rungs if not r.passthrough} == {21}


def test_passthrough_qualifies(make_probe: MakeProbe) -> None:
    plan = plan_ladder(make_probe())
    assert plan.rungs[0].passthrough
    assert not any(r.passthrough for r in plan.rungs[1:])
    assert plan.keyframes is KeyframeMode.SOURCE
    assert plan.passthrough_blockers == ()


@pytest.mark.parametrize(
    ("probe_args", "reason"),
    [
        ({"video": {"codec": "hevc"}}, "codec is not H.264"),
        ({"video": {"profile": "High 10"}}, "profile is not High"),
        ({"video": {"level": 51}}, "level above 42"),
        ({"video": {"pix_fmt": "yuv422p"}}, "not 8-bit yuv420p"),
        ({"video": {"sample_aspect_ratio": Fraction(4, 3)}}, "pixels are not square"),
        ({"fps": 120}, "frame rate unknown or above the limit"),
        ({"gop": {"constant_frame_rate": False}}, "frame rate is not constant"),
        ({"gop": {"closed": False}}, "GOPs are open"),
        ({"gop": {"keyframe_interval_max": 10.0}}, "keyframes too far apart"),
        ({"video": {"bit_rate": 13_000_000}}, "bit rate above the limit"),
        ({"width": 3840, "height": 2160}, "size differs from the top rung"),
        ({"width": 1280, "height": 720}, None),
    ],
)
def test_passthrough_blockers(
    make_probe: MakeProbe, probe_args: dict[str, object], reason: str | None
) -> None:
    plan = plan_ladder(make_probe(**probe_args))  # type: ignore[arg-type]
    if reason is None:
        assert plan.rungs[0].passthrough
    else:
        assert reason in plan.passthrough_blockers
        assert not plan.rungs[0].passthrough
        assert plan.keyframes is KeyframeMode.FIXED


def test_passthrough_can_be_disabled(make_probe: MakeProbe) -> None:
    plan = plan_ladder(make_probe(), allow_passthrough=False)
    assert not plan.rungs[0].passthrough


def test_audio_plan(make_probe: MakeProbe) -> None:
    plan = plan_ladder(make_probe(), normalize_audio=True)
    assert plan.audio is not None
    assert (plan.audio.bitrate_kbps, plan.audio.channels, plan.audio.sample_rate) == (128, 2, 48000)
    assert plan.audio.normalize
    assert plan_ladder(make_probe(audio=False)).audio is None


def test_audio_only(make_probe: MakeProbe) -> None:
    plan = plan_ladder(make_probe(has_video=False))
    assert plan.rungs == () and plan.audio is not None and plan.video_index is None


@pytest.mark.parametrize(("value", "expected"), [(426.67, 426), (427.1, 428), (1, 2), (361, 360)])
def test_even(value: float, expected: int) -> None:
    assert even(value) == expected
