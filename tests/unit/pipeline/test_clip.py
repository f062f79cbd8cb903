from __future__ import annotations

from pathlib import Path

import pytest

from reelhouse.pipeline.clip import clip_argv, clip_range
from reelhouse.pipeline.errors import InputRejected


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


def test_clip_argv_seeks_before_the_input_and_names_the_output_format(make_probe) -> None:
    probe = make_probe(1280, 720, fps=30, duration=10.0)
    argv = clip_argv("ffmpeg", Path("/in/source"), probe, 1.0, 3.5, Path("/out/clip"))
    assert argv[:2] == ["ffmpeg", "-hide_banner"] and "-nostdin" in argv
    assert argv.index("-ss") < argv.index("-i")
    assert argv[argv.index("-t") + 1] == "2.500"
    assert argv[argv.index("-protocol_whitelist") + 1] == "file,pipe"
    assert argv[-3:] == ["-f", "mp4", "/out/clip"]
