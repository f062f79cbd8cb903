#!/usr/bin/env python3
"""Transcode benchmark: reelhouse's one-process ladder against one FFmpeg run per rung.

One run measures, side by side on the same machine, with the order rotated each round and the
median of N rounds reported:

* ``pipeline``: :func:`reelhouse.pipeline.package.transcode` (the code the worker runs) on a
  60 s 1080p30 H.264 source above the passthrough bit-rate limit, with every rung encoded
  (``plan_ladder(probe, allow_passthrough=False)``);
* ``naive``: the same ladder as one FFmpeg run per rung, sequentially. Each command is built from
  the same plan and the same argv pieces (``encode._video_chain``, ``encode._x264_args``,
  ``encode._audio_args``): it decodes the source again, scales, encodes that rung plus the AAC
  audio (muxed into the rung, as a naive script does) and packages HLS fMP4 with the same
  muxer options;
* ``passthrough``: ``package.transcode`` on a second source that qualifies for passthrough
  (<= 8 Mbit/s average; checked with ``plan_ladder(...).passthrough_blockers``): the top rung is
  copied, the other rungs are encoded;
* ``uniform`` (only with ``--approaches``): ``pipeline`` with every segment 6 s long
  (``first_segment_seconds=0``), the segmenting before the short start, to show what the short
  start changes in the same run.

Both sources are generated once per run with the project's FFmpeg (``locate_ffmpeg()``) from the
same lavfi mosaic as ``shared/bench/pipeline/make_sources.sh`` (mandelbrot zoom, perlin clouds,
life, testsrc2, a handheld-style pan and temporal grain), H.264 High@4.1, closed 2 s GOPs,
stereo AAC 48 kHz.

Per run: wall seconds (job start to return), CPU seconds (``RUSAGE_CHILDREN`` delta: every
FFmpeg child, all threads), realtime factor (media seconds / wall), CPU-s per media-s, and the
time from the job's start until the first complete media segment (``seg_*.m4s``; the muxer
writes ``*.tmp`` and renames, ``hls_flags temp_file``) exists in each rung's directory, polled
every 25 ms by a thread.

    .venv/bin/python bench/transcode.py --quick                  # one round, 20 s source
    .venv/bin/python bench/transcode.py --rounds 3 --json .bench/transcode.json
    .venv/bin/python bench/transcode.py --report .bench/transcode.json
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from reelhouse.pipeline import encode, package
from reelhouse.pipeline.ffmpeg import locate_ffmpeg
from reelhouse.pipeline.ladder import LadderPlan, Rung, plan_ladder
from reelhouse.pipeline.probe import ProbeResult, probe

REPO = Path(__file__).resolve().parent.parent
APPROACHES = ("pipeline", "naive", "passthrough")
OPTIONAL_APPROACHES = ("uniform",)  # only when named in --approaches
LABELS = {
    "uniform": "reelhouse `package.transcode`, every rung encoded, uniform 6 s segments",
    "pipeline": "reelhouse `package.transcode`, every rung encoded",
    "naive": "naive: one ffmpeg run per rung, sequential",
    "passthrough": "reelhouse `package.transcode`, top rung passed through",
}

# Targets from the issue.
TARGET_SPEEDUP = 1.5  # naive wall / pipeline wall
TARGET_SPEEDUP_PASSTHROUGH = 2.5  # naive wall / passthrough wall
TARGET_FIRST_SEGMENT = 10.0  # seconds, every rung, every rung encoded
TARGET_FIRST_SEGMENT_PASSTHROUGH = 5.0
TARGET_ONE_HOUR_16_CORES_MIN = 5.0

# pipeline.md §6: one FFmpeg process runs its filter graph (split + every scale) in one thread,
# measured at 0.17 CPU-s per media-s -> at most ~5.8x realtime, i.e. >= ~10.3 min per hour.
SINGLE_PROCESS_CEILING_RTF = 5.8

# Source variants: (name, x264 rate control). "encode" is above PassthroughRules.max_bit_rate
# (8 Mbit/s) like phone footage; "passthrough" stays under it.
SOURCES = {
    "encode": ["-b:v", "10M", "-maxrate", "13M", "-bufsize", "20M"],
    "passthrough": ["-b:v", "6500k", "-maxrate", "8M", "-bufsize", "12M"],
}


# --------------------------------------------------------------------------- sources


def _mosaic(duration: float, tile: str, half: str, quarter: str) -> str:
    """The 2x2 lavfi mosaic of make_sources.sh (canvas = 2 x tile)."""
    end_pts = int(duration * 30)
    return (
        f"mandelbrot=s={half}:r=30:maxiter=600:start_scale=3:end_scale=0.002:end_pts={end_pts},"
        f"format=yuv420p,scale={tile}:flags=bicubic[a];"
        f"perlin=s={half}:r=30:octaves=4:persistence=0.55:xscale=3:yscale=3:tscale=0.35:"
        f"random_mode=seed:seed=7,format=yuv420p,scale={tile}:flags=bicubic,"
        f"colorchannelmixer=rr=1.0:gg=0.85:bb=0.6[b];"
        f"life=s={quarter}:r=30:mold=12:ratio=0.12:seed=3:death_color=#C83232:"
        f"life_color=#E0E070:mold_color=#103050,format=yuv420p,scale={tile}:flags=bicubic[c];"
        f"testsrc2=s={tile}:r=30,format=yuv420p[d];"
        f"[a][b][c][d]xstack=inputs=4:layout=0_0|w0_0|0_h0|w0_h0,format=yuv420p"
    )


def make_sources(ff: str, out: Path, duration: float, preset: str) -> dict[str, Path]:
    """Both 1080p30 sources from one FFmpeg run (the mosaic is rendered once, split in two)."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / f"src1080_{name}_{duration:g}s.mp4" for name in SOURCES}
    if all(p.is_file() and p.stat().st_size > 0 for p in paths.values()):
        return paths
    w, h = 1920, 1080
    video = (
        f"{_mosaic(duration, '1056x594', '528x297', '264x149')},"
        f"crop={w}:{h}:x='(iw-{w})/2+(iw-{w})/2*sin(t/3.1)':"
        f"y='(ih-{h})/2+(ih-{h})/2*sin(t/4.3)',noise=alls=3:allf=t,"
        f"split={len(SOURCES)}" + "".join(f"[{name}]" for name in SOURCES)
    )
    audio = (
        "sine=f=220:b=3:r=48000,volume=0.4[s];anoisesrc=c=pink:a=0.05:r=48000[n];"
        "[s][n]amix=inputs=2,aformat=channel_layouts=stereo"
    )
    argv = [ff, "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    argv += ["-f", "lavfi", "-i", audio, "-filter_complex", video]
    for name, rate_control in SOURCES.items():
        argv += ["-map", f"[{name}]", "-map", "0:a", "-t", f"{duration:g}"]
        argv += ["-c:v", "libx264", "-preset", preset, *rate_control]
        argv += ["-profile:v", "high", "-level", "4.1", "-pix_fmt", "yuv420p"]
        argv += ["-g", "60", "-keyint_min", "60", "-sc_threshold", "0"]
        argv += ["-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709"]
        argv += ["-c:a", "aac", "-b:a", "160k", "-ar", "48000", "-movflags", "+faststart"]
        argv.append(str(paths[name]))
    subprocess.run(argv, check=True)
    return paths


# --------------------------------------------------------------------------- measuring


class SegmentWatcher:
    """Polls rung directories; records seconds from ``t0`` until a complete segment exists."""

    def __init__(self, out: Path, names: list[str], t0: float, interval: float = 0.025) -> None:
        self.dirs = {name: out / name for name in names}
        self.t0 = t0
        self.interval = interval
        self.first: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _has_segment(self, d: Path) -> bool:
        try:
            with os.scandir(d) as it:
                return any(e.name.startswith("seg_") and e.name.endswith(".m4s") for e in it)
        except FileNotFoundError:
            return False

    def _poll(self) -> None:
        now = time.perf_counter() - self.t0
        for name, d in self.dirs.items():
            if name not in self.first and self._has_segment(d):
                self.first[name] = round(now, 3)

    def _run(self) -> None:
        while not self._stop.is_set() and len(self.first) < len(self.dirs):
            self._poll()
            self._stop.wait(self.interval)

    def __enter__(self) -> SegmentWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._poll()  # a segment finished between the last poll and the exit counts at exit


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def fresh(d: Path) -> Path:
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    return d


def run_pipeline(
    ff: str,
    src: Path,
    pr: ProbeResult,
    plan: LadderPlan,
    out: Path,
    first_segment_seconds: int | None = None,
) -> dict:
    """``package.transcode`` with its defaults (preset, segment lengths, limits); the first
    segment as long as the others when ``first_segment_seconds`` is 0."""
    fresh(out)
    names = [r.name for r in plan.rungs] + ([encode.AUDIO_DIR] if plan.audio else [])
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    with SegmentWatcher(out, names, t0) as watch:
        result = asyncio.run(
            package.transcode(
                src, pr, plan, out, ffmpeg=ff, first_segment_seconds=first_segment_seconds
            )
        )
        wall = time.perf_counter() - t0
    return {
        "wall": wall,
        "cpu": _children_cpu() - cpu0,
        "ffmpeg_wall": result.wall_seconds,
        "first_segment": watch.first,
    }


def naive_argv(ff: str, src: Path, pr: ProbeResult, plan: LadderPlan, rung: Rung, out: Path):
    """One single-output FFmpeg run for ``rung``: the same input args, scale chain, x264 rate
    control/keyframes, AAC settings and HLS options as the pipeline's argv, audio muxed in."""
    assert plan.audio is not None and not plan.audio.normalize and not rung.passthrough
    preset = inspect.signature(encode.EncodeSettings).parameters["preset"].default
    return [
        ff,
        *("-hide_banner", "-nostdin", "-loglevel", "error", "-y"),
        *encode.input_args(src, pr),
        *("-map", f"0:{plan.video_index}", "-vf", encode._video_chain(rung)),
        *encode._x264_args(0, rung, plan, preset),
        *encode._audio_args(plan.audio),
        *("-sn", "-dn", "-map_metadata", "-1", "-map_chapters", "-1"),
        # the same segmenting as the pipeline's outputs (EncodeSettings' defaults)
        *encode.hls_output_args(out / rung.name, "init.mp4", encode.EncodeSettings()),
    ]


def run_naive(ff: str, src: Path, pr: ProbeResult, plan: LadderPlan, out: Path) -> dict:
    fresh(out)
    cmds = [(r.name, naive_argv(ff, src, pr, plan, r, out)) for r in plan.rungs]
    per_rung: dict[str, float] = {}
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    with SegmentWatcher(out, [name for name, _ in cmds], t0) as watch:
        for name, argv in cmds:
            (out / name).mkdir(exist_ok=True)
            t = time.perf_counter()
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True)
            per_rung[name] = round(time.perf_counter() - t, 3)
            if done.returncode != 0:
                raise RuntimeError(f"naive {name} failed:\n{done.stderr.decode()[-3000:]}")
            package._measure(out, name, "video")  # the VOD playlist, as the pipeline writes it
        wall = time.perf_counter() - t0
    return {
        "wall": wall,
        "cpu": _children_cpu() - cpu0,
        "per_rung_wall": per_rung,
        "first_segment": watch.first,
    }


_EXTINF = re.compile(r"#EXTINF:([0-9.]+)")


def describe_output(out: Path) -> dict[str, dict]:
    """Per rendition dir: segment count, EXTINF total, average kbit/s of the segments."""
    found = {}
    for d in sorted(p for p in out.iterdir() if p.is_dir()):
        pl = d / encode.PLAYLIST_NAME
        if not pl.is_file():
            continue
        text = pl.read_text()
        durations = [float(x) for x in _EXTINF.findall(text)]
        segs = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
        size = sum((d / s).stat().st_size for s in segs)
        total = sum(durations)
        found[d.name] = {
            "segments": len(segs),
            "extinf_s": round(total, 3),
            "endlist": "#EXT-X-ENDLIST" in text,
            "avg_kbps": round(size * 8 / total / 1000, 1) if total else None,
        }
    return found


# --------------------------------------------------------------------------- report


def summarize(samples: list[dict], media_s: float, nproc: int) -> dict:
    walls = [s["wall"] for s in samples]
    cpus = [s["cpu"] for s in samples]
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    names = list(samples[0]["first_segment"]) if samples else []
    per_rung = {
        n: round(statistics.median(s["first_segment"].get(n, s["wall"]) for s in samples), 3)
        for n in names
    }
    every = [max(s["first_segment"].values(), default=s["wall"]) for s in samples]
    video_only = [
        max((v for k, v in s["first_segment"].items() if k != encode.AUDIO_DIR), default=0)
        for s in samples
    ]
    return {
        "n": len(samples),
        "wall_median": round(wall, 2),
        "wall_all": [round(x, 2) for x in walls],
        "cpu_median": round(cpu, 2),
        "cpu_all": [round(x, 2) for x in cpus],
        "rtf": round(media_s / wall, 3),
        "cpu_per_media_s": round(cpu / media_s, 3),
        "video_hours_per_core_hour": round(media_s / (wall * nproc), 3),
        "first_segment_per_rung": per_rung,
        "first_segment_every_rendition": round(statistics.median(every), 2),
        "first_segment_every_video_rung": round(statistics.median(video_only), 2),
    }


def one_hour_16_cores(s: dict, single_process: bool) -> dict:
    """Minutes for one hour of this source on 16 cores: perfect scaling of the measured CPU
    cost, and (one FFmpeg process) the pipeline.md §6 single-filter-thread ceiling."""
    perfect = 3600 * s["cpu_per_media_s"] / 16 / 60
    from_core_hours = 60 / (s["video_hours_per_core_hour"] * 16)
    ceiling = 60 / SINGLE_PROCESS_CEILING_RTF if single_process else 0.0
    return {
        "perfect_cpu_scaling_min": round(perfect, 1),
        "from_core_hours_min": round(from_core_hours, 1),
        "single_process_ceiling_min": round(ceiling, 1),
        "estimate_min": round(max(perfect, ceiling), 1),
    }


def report(res: dict) -> str:
    s = res["results"]
    media = res["media_seconds"]
    naive = s.get("naive")
    lines = [
        f"Machine: {res['machine']['nproc']} CPUs ({res['machine']['cpu_model']}), "
        f"{res['machine']['platform']}; FFmpeg {res['ffmpeg_version']}; preset "
        f"`{res['preset']}`; {res['rounds']} round(s), order rotated; media {media:.2f} s.",
        "",
        "| approach | source | wall s (median) | samples | CPU s | realtime x | CPU-s/media-s "
        "| speed vs naive (wall) | CPU vs naive | video h / core-h "
        "| first segment, every rung (+audio) |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, x in s.items():
        ratio = f"{naive['wall_median'] / x['wall_median']:.2f}x" if naive else "-"
        cpu_ratio = f"{naive['cpu_median'] / x['cpu_median']:.2f}x" if naive else "-"
        src = res["sources"][res["approach_source"][key]]
        first = f"{x['first_segment_every_video_rung']:.2f} s"
        if encode.AUDIO_DIR in x["first_segment_per_rung"]:
            first += f" ({x['first_segment_every_rendition']:.2f} s)"
        lines.append(
            f"| {LABELS[key]} | {res['approach_source'][key]} ({src['video_kbps']} kbit/s) "
            f"| {x['wall_median']:.1f} | {', '.join(f'{w:.1f}' for w in x['wall_all'])} "
            f"| {x['cpu_median']:.1f} | {x['rtf']:.2f} | {x['cpu_per_media_s']:.2f} | {ratio} "
            f"| {cpu_ratio} | {x['video_hours_per_core_hour']:.3f} | {first} |"
        )
    if naive:
        lines += ["", "Speed vs naive per round (naive wall / wall of the same round):", ""]
        for key, x in s.items():
            if key != "naive":
                per = zip(naive["wall_all"], x["wall_all"], strict=False)
                lines.append(f"* {key}: " + ", ".join(f"{n / w:.2f}x" for n, w in per))
    lines += ["", "First segment per rung (median s since the job started):", ""]
    for key, x in s.items():
        per = ", ".join(f"{n} {v:.2f}" for n, v in x["first_segment_per_rung"].items())
        lines.append(f"* {key}: {per}")
    if res.get("outputs"):
        lines += ["", "Average kbit/s per rendition (round 1, segment bytes / EXTINF total):", ""]
        for key, o in res["outputs"].items():
            per = ", ".join(f"{n} {v['avg_kbps']}" for n, v in o.items())
            lines.append(f"* {key}: {per}")
    lines += ["", "Targets:", ""]
    for t in res["targets"]:
        lines.append(f"* {t['what']}: {t['value']} (target {t['target']}) **{t['verdict']}**")
    lines += ["", "One hour of this source on 16 cores (extrapolated, minutes):", ""]
    for key, e in res["one_hour_16_cores"].items():
        lines.append(
            f"* {key}: perfect CPU scaling {e['perfect_cpu_scaling_min']}, single-process "
            f"ceiling {e['single_process_ceiling_min']} -> estimate >= {e['estimate_min']} "
            f"(target < {TARGET_ONE_HOUR_16_CORES_MIN:g})"
        )
    return "\n".join(lines)


def targets(s: dict) -> list[dict]:
    out = []

    def add(what: str, value: float, target: str, ok: bool, unit: str = "") -> None:
        out.append(
            {"what": what, "value": f"{value:.2f}{unit}", "target": target, "verdict": _v(ok)}
        )

    if "naive" in s and "pipeline" in s:
        r = s["naive"]["wall_median"] / s["pipeline"]["wall_median"]
        add("speed vs naive, every rung encoded", r, f">= {TARGET_SPEEDUP}x", r >= 1.5, "x")
    if "naive" in s and "passthrough" in s:
        r = s["naive"]["wall_median"] / s["passthrough"]["wall_median"]
        add("speed vs naive, with passthrough", r, f">= {TARGET_SPEEDUP_PASSTHROUGH}x", r >= 2.5)
        out[-1]["value"] += "x"
    for key, limit in (
        ("pipeline", TARGET_FIRST_SEGMENT),
        ("passthrough", TARGET_FIRST_SEGMENT_PASSTHROUGH),
        ("naive", TARGET_FIRST_SEGMENT),
        ("uniform", TARGET_FIRST_SEGMENT),
    ):
        if key in s:
            v = s[key]["first_segment_every_video_rung"]
            add(f"first segment of every rung, {key}", v, f"<= {limit:g} s", v <= limit, " s")
    return out


def _v(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# --------------------------------------------------------------------------- main


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ffmpeg_version(ff: str) -> str:
    text = subprocess.run([ff, "-hide_banner", "-version"], capture_output=True, text=True).stdout
    return text.split("\n", 1)[0].removeprefix("ffmpeg version ").split(" ")[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="1 round, 20 s source")
    ap.add_argument("--duration", type=float, default=60.0, help="source seconds (default 60)")
    ap.add_argument("--approaches", default=",".join(APPROACHES))
    ap.add_argument("--source-preset", default="superfast", help="x264 preset for the sources")
    ap.add_argument("--work", type=Path, default=REPO / ".bench" / "transcode")
    ap.add_argument("--json", type=Path, help="write all samples and the summary here")
    ap.add_argument("--keep", action="store_true", help="keep sources and outputs")
    ap.add_argument("--report", type=Path, help="print the table of a saved --json and exit")
    a = ap.parse_args()
    if a.report:
        print(report(json.loads(a.report.read_text())))
        return
    if a.quick:
        a.rounds, a.duration = 1, 20.0
    keys = [k for k in a.approaches.split(",") if k]
    if unknown := set(keys) - set(APPROACHES) - set(OPTIONAL_APPROACHES):
        sys.exit(f"unknown approaches: {', '.join(sorted(unknown))}")

    ff = locate_ffmpeg()
    work = a.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    src_dir, out_root = work / "src", work / "out"
    preset = inspect.signature(package.transcode).parameters["preset"].default
    nproc = os.cpu_count() or 1
    load_start = os.getloadavg()
    try:
        t = time.perf_counter()
        print(f"generating {a.duration:g} s sources ({a.source_preset}) ...", flush=True)
        paths = make_sources(ff, src_dir, a.duration, a.source_preset)
        print(f"  sources ready in {time.perf_counter() - t:.1f} s", flush=True)
        probes = {name: asyncio.run(probe(p)) for name, p in paths.items()}
        plans = {
            "pipeline": plan_ladder(probes["encode"], allow_passthrough=False),
            "naive": plan_ladder(probes["encode"], allow_passthrough=False),
            "passthrough": plan_ladder(probes["passthrough"]),
            "uniform": plan_ladder(probes["encode"], allow_passthrough=False),
        }
        approach_source = {
            "pipeline": "encode",
            "naive": "encode",
            "passthrough": "passthrough",
            "uniform": "encode",
        }
        blockers_pt = plans["passthrough"].passthrough_blockers
        if blockers_pt or not plans["passthrough"].rungs[0].passthrough:
            sys.exit(f"the passthrough source does not qualify: {blockers_pt}")
        sources = {}
        for name, pr in probes.items():
            v = pr.video[0]
            sources[name] = {
                "file": paths[name].name,
                "bytes": pr.size_bytes,
                "duration": pr.duration,
                "video": f"{v.codec} {v.profile} L{v.level} {v.width}x{v.height} "
                f"{float(v.frame_rate or 0):g} fps {v.pix_fmt}",
                "video_kbps": round((v.bit_rate or 0) / 1000),
                "total_kbps": round((pr.bit_rate or 0) / 1000),
                "gop": pr.gop.__dict__ if pr.gop else None,
                "passthrough_blockers": list(plan_ladder(pr).passthrough_blockers),
            }
            print(f"  {name}: {json.dumps(sources[name], default=str)}", flush=True)
        media_s = float(probes["encode"].duration or a.duration)
        plan = plans["pipeline"]
        print(
            "  ladder: "
            + ", ".join(f"{r.name} {r.width}x{r.height} {r.maxrate_kbps}k" for r in plan.rungs)
            + f"; preset {preset}",
            flush=True,
        )
        commands = {
            "pipeline": encode.transcode_argv(
                ff, paths["encode"], probes["encode"], plan, out_root / "pipeline"
            ),
            "passthrough": encode.transcode_argv(
                ff,
                paths["passthrough"],
                probes["passthrough"],
                plans["passthrough"],
                out_root / "passthrough",
            ),
            "naive": [
                naive_argv(ff, paths["encode"], probes["encode"], plan, r, out_root / "naive")
                for r in plan.rungs
            ],
            "uniform": encode.transcode_argv(
                ff,
                paths["encode"],
                probes["encode"],
                plan,
                out_root / "uniform",
                encode.EncodeSettings(first_segment_seconds=0),
            ),
        }
        commands = {k: v for k, v in commands.items() if k in keys}

        samples: dict[str, list[dict]] = {k: [] for k in keys}
        outputs: dict[str, Any] = {}
        for rnd in range(a.rounds):
            order = keys[rnd % len(keys) :] + keys[: rnd % len(keys)]
            for key in order:
                out = out_root / key
                src = paths[approach_source[key]]
                pr = probes[approach_source[key]]
                if key == "naive":
                    r = run_naive(ff, src, pr, plans[key], out)
                else:
                    first = 0 if key == "uniform" else None
                    r = run_pipeline(ff, src, pr, plans[key], out, first_segment_seconds=first)
                samples[key].append(r)
                last = max(r["first_segment"].values(), default=float("nan"))
                print(
                    f"round {rnd + 1} {key}: wall {r['wall']:.1f} s, cpu {r['cpu']:.1f} s, "
                    f"first segment of every rendition {last:.2f} s "
                    f"{json.dumps(r['first_segment'])}",
                    flush=True,
                )
                if rnd == 0:
                    outputs[key] = describe_output(out)
                shutil.rmtree(out, ignore_errors=True)
    finally:
        if not a.keep:
            shutil.rmtree(out_root, ignore_errors=True)
            shutil.rmtree(src_dir, ignore_errors=True)

    results = {k: summarize(v, media_s, nproc) for k, v in samples.items()}
    res = {
        "machine": {
            "nproc": nproc,
            "cpu_model": _cpu_model(),
            "platform": platform.platform(),
            "loadavg_start": load_start,
            "loadavg_end": os.getloadavg(),
        },
        "ffmpeg": ff,
        "ffmpeg_version": _ffmpeg_version(ff),
        "preset": preset,
        "rounds": a.rounds,
        "media_seconds": media_s,
        "sources": sources,
        "approach_source": approach_source,
        "ladder": [
            {"name": r.name, "size": f"{r.width}x{r.height}", "maxrate_kbps": r.maxrate_kbps}
            for r in plan.rungs
        ],
        "commands": commands,
        "results": results,
        "raw": samples,
        "outputs": outputs,
        "targets": targets(results),
        "one_hour_16_cores": {
            k: one_hour_16_cores(v, single_process=k != "naive") for k, v in results.items()
        },
    }
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(res, indent=2, default=str))
        print(f"saved {a.json}")
    print()
    print(report(res))


if __name__ == "__main__":
    main()
