from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import pytest

from reelhouse.pipeline.encode import (
    EncodeSettings,
    ProgressReader,
    filter_graph,
    scale_parents,
    transcode_argv,
)
from reelhouse.pipeline.ladder import Rung, plan_ladder
from reelhouse.pipeline.probe import ProbeResult

OUT = Path("/scratch/job/out")
SRC = Path("/scratch/job/source")

MakeProbe = Callable[..., ProbeResult]


def output_options(argv: list[str]) -> list[list[str]]:
    """The options of each output (from its first ``-map`` to its path), in order."""
    outputs, current = [], None
    for arg in argv:
        if arg == "-map" and current is None:
            current = []
        if current is not None:
            current.append(arg)
            if arg.endswith(".m3u8"):
                outputs.append(current)
                current = None
    return outputs


def test_argv_is_a_safe_list(make_probe: MakeProbe) -> None:
    probe = make_probe(video={"profile": "Main"})
    argv = transcode_argv("/usr/bin/ffmpeg", SRC, probe, plan_ladder(probe), OUT)
    assert all(isinstance(a, str) for a in argv)
    assert argv[0] == "/usr/bin/ffmpeg"
    assert "-nostdin" in argv
    i = argv.index("-i")
    assert argv[i + 1] == "file:/scratch/job/source"
    assert argv[argv.index("-f") : argv.index("-f") + 2] == ["-f", "mov"]
    assert argv.index("-f") < i and argv.index("-protocol_whitelist") < i
    assert argv[argv.index("-protocol_whitelist") + 1] == "file,pipe"
    assert argv[argv.index("-progress") + 1] == "pipe:1" and "-nostats" in argv
    for flag, value in [
        ("-hls_segment_type", "fmp4"),
        ("-hls_time", "6"),
        ("-hls_init_time", "2"),
        ("-hls_list_size", "1"),
        ("-hls_flags", "independent_segments+temp_file"),
    ]:
        assert argv[argv.index(flag) + 1] == value
    # one output per rendition, each with its own muxer and directory
    outputs = [a for a in argv if a.endswith("/ffmpeg.m3u8")]
    names = ("1080p", "720p", "540p", "360p", "240p", "audio")
    assert outputs == [f"/scratch/job/out/{n}/ffmpeg.m3u8" for n in names]
    assert argv[-1] == outputs[-1]
    assert argv.count("-f") == 1 + len(outputs) and argv.count("-hls_init_time") == len(outputs)
    inits = [argv[i + 1] for i, a in enumerate(argv) if a == "-hls_fmp4_init_filename"]
    assert inits == [f"init_{i}.mp4" for i in range(len(names))]


def test_uniform_segments_when_the_first_is_not_shorter(make_probe: MakeProbe) -> None:
    probe = make_probe(video={"profile": "Main"})
    settings = EncodeSettings(segment_seconds=4, first_segment_seconds=4)
    argv = transcode_argv("ffmpeg", SRC, probe, plan_ladder(probe), OUT, settings)
    assert "-hls_init_time" not in argv
    assert {argv[i + 1] for i, a in enumerate(argv) if a == "-hls_time"} == {"4"}


def test_all_rungs_from_one_decode(make_probe: MakeProbe) -> None:
    probe = make_probe(video={"profile": "Main"})
    plan = plan_ladder(probe)
    # Decoded once; each rung is scaled from the next larger one.
    assert filter_graph(plan) == (
        "[0:0]scale=1920:1080:flags=bicubic,format=yuv420p,setsar=1,split=2[v0][c1];"
        "[c1]scale=1280:720:flags=bicubic,format=yuv420p,setsar=1,split=2[v1][c2];"
        "[c2]scale=960:540:flags=bicubic,format=yuv420p,setsar=1,split=2[v2][c3];"
        "[c3]scale=640:360:flags=bicubic,format=yuv420p,setsar=1,split=2[v3][c4];"
        "[c4]scale=426:240:flags=bicubic,format=yuv420p,setsar=1[v4]"
    )
    argv = transcode_argv("ffmpeg", SRC, probe, plan, OUT, EncodeSettings(preset="faster"))
    assert argv.count("libx264") == 5
    outputs = output_options(argv)
    assert [o[-1].split("/")[-2] for o in outputs] == [
        "1080p",
        "720p",
        "540p",
        "360p",
        "240p",
        "audio",
    ]
    assert [o[o.index("-map") + 1] for o in outputs] == [
        "[v0]",
        "[v1]",
        "[v2]",
        "[v3]",
        "[v4]",
        "0:1",
    ]
    assert all(o[o.index("-preset:v:0") + 1] == "faster" for o in outputs[:5])
    assert outputs[1][outputs[1].index("-maxrate:v:0") + 1] == "3000k"
    assert outputs[1][outputs[1].index("-bufsize:v:0") + 1] == "6000k"
    assert outputs[4][outputs[4].index("-force_key_frames:v:0") + 1] == "expr:gte(t,n_forced*2)"
    assert outputs[0][outputs[0].index("-sc_threshold:v:0") + 1] == "0"
    assert "libx264" not in outputs[5] and not any("-c:a" in o for o in outputs[:5])
    audio = argv[argv.index("-c:a") :]
    assert audio[:10] == [
        "-c:a",
        "aac",
        "-profile:a",
        "aac_low",
        "-b:a",
        "128k",
        "-ac",
        "2",
        "-ar",
        "48000",
    ]


def test_passthrough_top_rung_is_copied(make_probe: MakeProbe) -> None:
    probe = make_probe()
    plan = plan_ladder(probe)
    argv = transcode_argv("ffmpeg", SRC, probe, plan, OUT)
    outputs = output_options(argv)
    assert outputs[0][outputs[0].index("-c:v:0") + 1] == "copy"
    maps = [argv[i + 1] for i, a in enumerate(argv) if a == "-map"]
    assert maps == ["0:0", "[v0]", "[v1]", "[v2]", "[v3]", "0:1"]
    assert all(o[o.index("-force_key_frames:v:0") + 1] == "source" for o in outputs[1:5])
    assert filter_graph(plan).startswith("[0:0]scale=1280:720:")


def test_decimated_rungs_and_loudnorm(make_probe: MakeProbe) -> None:
    plan = plan_ladder(make_probe(fps=60, video={"profile": "Main"}), normalize_audio=True)
    graph = filter_graph(plan)
    # 540p halves the rate of the 60 fps 720p it is scaled from; 360p keeps 540p's 30 fps.
    assert "[c2]fps=fps=30/1,scale=960:540" in graph
    assert "[c3]scale=640:360" in graph
    assert graph.endswith("[0:1]loudnorm=I=-24:TP=-2:LRA=7,aresample=48000[aout]")


def test_rungs_that_cannot_cascade_are_scaled_from_the_source() -> None:
    def rung(name: str, width: int, height: int, decimation: int) -> Rung:
        return Rung(name, width, height, Fraction(60, decimation), decimation, 1000, 2000, 23)

    rungs = [rung("a", 1280, 720, 2), rung("b", 960, 540, 1), rung("c", 640, 360, 2)]
    # b needs every frame, a dropped half: b comes from the source; c can come from b.
    assert scale_parents(rungs) == [None, None, 1]
    wide = [rung("a", 1280, 720, 1), rung("b", 1440, 540, 1)]
    assert scale_parents(wide) == [None, None]


def test_audio_only_and_silent(make_probe: MakeProbe) -> None:
    probe = make_probe(has_video=False)
    argv = transcode_argv("ffmpeg", SRC, probe, plan_ladder(probe), OUT)
    assert "-filter_complex" not in argv
    [audio] = output_options(argv)
    assert audio[-1] == "/scratch/job/out/audio/ffmpeg.m3u8" and audio[:2] == ["-map", "0:1"]
    silent = make_probe(audio=False, video={"profile": "Main"}, width=640, height=360)
    argv = transcode_argv("ffmpeg", SRC, silent, plan_ladder(silent), OUT)
    outputs = output_options(argv)
    assert [o[-1].split("/")[-2] for o in outputs] == ["360p", "240p"]
    assert "-c:a" not in argv


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["frame=10", "out_time_us=2500000", "progress=continue"], [None, None, 25.0]),
        (["out_time_ms=5000000", "progress=continue"], [None, 50.0]),
        (["out_time_us=N/A", "progress=continue"], [None, None]),
        (["out_time_us=20000000", "progress=continue", "progress=end"], [None, 99.9, 100.0]),
        (["garbage", "", "out_time_us=-5", "progress=continue"], [None, None, None, 0.0]),
    ],
)
def test_progress(lines: list[str], expected: list[float | None]) -> None:
    reader = ProgressReader(10.0)
    assert [reader.feed(line) for line in lines] == expected


def test_progress_without_duration() -> None:
    reader = ProgressReader(None)
    assert [reader.feed(x) for x in ["out_time_us=1", "progress=continue"]] == [None, None]


def test_encoder_threads_share_the_cores(make_probe: MakeProbe) -> None:
    probe = make_probe(video={"profile": "Main"})
    plan = plan_ladder(probe)
    argv = transcode_argv("ffmpeg", SRC, probe, plan, OUT, EncodeSettings(cores=16))
    # 1080p keeps x264's own choice; the others get their share of 16 cores by pixel rate.
    threads = [
        next((o[i + 1] for i, a in enumerate(o) if a == "-threads:v:0"), None)
        for o in output_options(argv)
    ]
    assert threads == [None, "4", "3", "1", "1", None]
    two_cores = transcode_argv("ffmpeg", SRC, probe, plan, OUT, EncodeSettings(cores=2))
    assert [two_cores[i + 1] for i, a in enumerate(two_cores) if a.startswith("-threads:v:")] == [
        "1",
        "1",
        "1",
        "1",
    ]
    assert not any(
        a.startswith("-threads") for a in transcode_argv("ffmpeg", SRC, probe, plan, OUT)
    )
