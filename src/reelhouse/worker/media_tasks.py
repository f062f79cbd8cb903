"""The media jobs: fetch an input from a URL, prepare (probe, validate, plan), encode and
publish. Every handler is idempotent: a job killed at any point is rerun from its start by
whichever worker picks it up next, and a rerun never publishes a half-written output.

Sources are local files: a direct upload's bytes in the upload store, or a URL's download in
``<data-dir>/inputs``; FFmpeg only ever opens a local file (DESIGN.md, untrusted input).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from math import gcd
from pathlib import Path
from typing import Any

import procrastinate
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse import outbound
from reelhouse.db.models import Asset
from reelhouse.jobs.defer import defer_job
from reelhouse.logs import get_logger
from reelhouse.media import processing
from reelhouse.metrics import Metrics
from reelhouse.pipeline import package
from reelhouse.pipeline.clip import ClipCut, clip_range, cut_clip
from reelhouse.pipeline.errors import (
    INVALID_INPUT,
    EncodeFailed,
    InputRejected,
    PipelineError,
    ProbeFailed,
    ProcessTimeout,
)
from reelhouse.pipeline.ladder import LadderPlan, Tier, VideoQuality, plan_ladder
from reelhouse.pipeline.probe import ProbeResult, probe
from reelhouse.pipeline.validate import InputLimits, MediaKind, validate
from reelhouse.storage import layout
from reelhouse.storage.protocols import ObjectStore

log = get_logger("reelhouse.media")
PROGRESS_INTERVAL = 1.0
CLIP_CUT_KEY = "clip_cut"
"""The asset setting that records how a clip's input was cut (``method``, ``reason``, ...)."""


@dataclass(frozen=True)
class MediaDeps:
    sessions: async_sessionmaker[AsyncSession]
    store: ObjectStore
    clock: Callable[[], datetime]
    ffmpeg: str
    uploads_dir: Path
    inputs_dir: Path
    scratch_dir: Path
    preset: str = "veryfast"
    timeout_factor: float = 6.0
    min_timeout: float = 120.0
    max_duration: float = 12 * 3600.0
    max_frame_rate: float = 120.0
    passthrough: bool = True
    outbound_policy: outbound.Policy = field(default_factory=outbound.Policy)
    metrics: Metrics = field(default_factory=Metrics)


def source_path(deps: MediaDeps, asset: Asset) -> Path:
    """Where the asset's input bytes are on this machine."""
    if asset.upload_id:
        return deps.uploads_dir / asset.upload_id
    return deps.inputs_dir / asset.id


async def _refuse(deps: MediaDeps, asset_id: str, error: PipelineError) -> None:
    deps.metrics.ffmpeg_failures.labels(reason=error.code).inc()
    await _fail(deps, asset_id, *_refusal(error))


async def _fail(deps: MediaDeps, asset_id: str, error_type: str, message: str) -> None:
    async with deps.sessions.begin() as session:
        asset = await processing.lock_asset(session, asset_id)
        if asset is not None and asset.status == "preparing":
            await processing.mark_errored(
                session, asset, error_type=error_type, message=message, now=deps.clock()
            )
    log.info("asset.errored", asset_id=asset_id, error_type=error_type, reason=message)


def _limits(deps: MediaDeps, asset: Asset) -> InputLimits:
    tier = InputLimits.for_tier(str(asset.settings.get("max_resolution_tier") or "1080p"))
    return InputLimits(
        max_duration=deps.max_duration,
        max_width=tier.max_width,
        max_height=tier.max_height,
        max_frame_rate=deps.max_frame_rate,
    )


def _plan(deps: MediaDeps, asset: Asset, probed: ProbeResult) -> LadderPlan:
    settings = asset.settings
    quality = VideoQuality.BASIC if settings.get("video_quality") == "basic" else VideoQuality.PLUS
    return plan_ladder(
        probed,
        max_resolution_tier=Tier(str(settings.get("max_resolution_tier") or "1080p")),
        video_quality=quality,
        normalize_audio=bool(settings.get("normalize_audio")),
        allow_passthrough=deps.passthrough,
    )


def _refusal(error: PipelineError) -> tuple[str, str]:
    """The Mux error type and a person's message for a pipeline failure (no paths, no
    FFmpeg output: those go to the logs)."""
    if isinstance(error, InputRejected):
        return error.type, error.message
    if isinstance(error, ProbeFailed):
        return INVALID_INPUT, "The input file could not be read as video or audio."
    if isinstance(error, ProcessTimeout):
        return INVALID_INPUT, f"Processing the input took longer than {error.timeout:.0f} s."
    return INVALID_INPUT, "The input could not be decoded; it may be truncated or damaged."


async def _probe_checked(deps: MediaDeps, asset: Asset) -> tuple[Path, ProbeResult, MediaKind]:
    path = source_path(deps, asset)
    if not path.exists():
        raise InputRejected(INVALID_INPUT, "The input file is missing; upload it again.")
    probed = await probe(path)
    kind = validate(probed, _limits(deps, asset))
    return path, probed, kind


def input_info(asset: Asset, probed: ProbeResult) -> list[dict[str, Any]]:
    """Mux's ``input-info`` shape for the probed input."""
    tracks: list[dict[str, Any]] = []
    for video in probed.video:
        rate = video.frame_rate
        tracks.append(
            {
                "type": "video",
                "duration": probed.duration,
                "encoding": video.codec,
                "width": video.width,
                "height": video.height,
                "frame_rate": round(float(rate), 3) if rate else None,
            }
        )
    for audio in probed.audio:
        tracks.append(
            {
                "type": "audio",
                "duration": probed.duration,
                "encoding": audio.codec,
                "sample_rate": audio.sample_rate,
                "channels": audio.channels,
            }
        )
    settings = asset.inputs[0] if asset.inputs else {}
    file = {"container_format": probed.format_name, "tracks": tracks}
    return [{"settings": settings, "file": file}]


async def prepare(deps: MediaDeps, asset_id: str) -> None:
    async with deps.sessions() as session:
        asset = await session.get(Asset, asset_id)
    if asset is None or asset.status != "preparing":
        return
    try:
        _path, probed, kind = await _probe_checked(deps, asset)
    except PipelineError as error:
        await _refuse(deps, asset_id, error)
        return
    async with deps.sessions.begin() as session:
        locked = await processing.lock_asset(session, asset_id)
        if locked is None or locked.status != "preparing":
            return
        version = await processing.record_prepared(
            session,
            locked,
            input_info=input_info(locked, probed),
            duration=probed.duration,
            now=deps.clock(),
        )
    log.info("asset.prepared", asset_id=asset_id, kind=kind.value, version=version)


def _ratio(width: int, height: int) -> str:
    divisor = gcd(width, height) or 1
    return f"{width // divisor}:{height // divisor}"


def _tiers(result: package.PackageResult) -> tuple[str, str, str | None, float | None]:
    """resolution_tier, max_stored_resolution, aspect_ratio and frame rate of the top rung."""
    videos = [r for r in result.renditions if r.kind == "video" and r.width and r.height]
    if not videos:
        return "audio-only", "Audio only", None, None
    top = max(videos, key=lambda r: (r.width or 0) * (r.height or 0))
    width, height = top.width or 0, top.height or 0
    short = min(width, height)
    tier = next((t for t in (2160, 1440, 1080) if short >= t), 720)
    stored = "UHD" if short >= 2160 else "FHD" if short >= 1080 else "HD" if short >= 720 else "SD"
    rate = round(float(top.frame_rate), 3) if top.frame_rate else None
    return f"{tier}p", stored, _ratio(width, height), rate


def asset_facts(result: package.PackageResult) -> processing.AssetFacts:
    tier, stored, aspect, rate = _tiers(result)
    tracks: list[dict[str, Any]] = []
    videos = [r for r in result.renditions if r.kind == "video"]
    if videos:
        tracks.append(
            {
                "id": "video",
                "type": "video",
                "duration": result.duration,
                "max_width": max(r.width or 0 for r in videos),
                "max_height": max(r.height or 0 for r in videos),
                "max_frame_rate": rate,
            }
        )
    if any(r.kind == "audio" for r in result.renditions):
        tracks.append(
            {
                "id": "audio",
                "type": "audio",
                "duration": result.duration,
                "max_channels": 2,
                "max_channel_layout": "stereo",
                "primary": True,
            }
        )
    return processing.AssetFacts(
        duration=result.duration,
        aspect_ratio=aspect,
        resolution_tier=tier,
        max_stored_resolution=stored,
        max_stored_frame_rate=rate,
        tracks=tracks,
    )


def rendition_facts(result: package.PackageResult, prefix: str) -> list[processing.RenditionFacts]:
    return [
        processing.RenditionFacts(
            name=r.name,
            kind=r.kind,
            width=r.width,
            height=r.height,
            frame_rate=float(r.frame_rate) if r.frame_rate else None,
            bandwidth=r.bandwidth.peak,
            average_bandwidth=r.bandwidth.average,
            codecs=r.codecs,
            channels=2 if r.kind == "audio" else None,
            passthrough=r.passthrough,
            playlist_key=prefix + r.playlist,
        )
        for r in result.renditions
    ]


async def _store_outputs(deps: MediaDeps, out_dir: Path, prefix: str) -> int:
    """Copy every output file under ``prefix``; returns the number of objects."""
    files = sorted(p for p in out_dir.rglob("*") if p.is_file())
    gate = asyncio.Semaphore(4)

    async def put(path: Path) -> None:
        async with gate:
            await deps.store.put_file(prefix + path.relative_to(out_dir).as_posix(), path)

    await asyncio.gather(*(put(path) for path in files))
    return len(files)


class _Progress:
    """Writes the latest encode percentage to the asset at most once a second."""

    def __init__(self, deps: MediaDeps, asset_id: str) -> None:
        self._deps = deps
        self._asset_id = asset_id
        self.latest: float | None = None
        self._written: float | None = None

    def update(self, percent: float) -> None:
        self.latest = percent

    async def run(self) -> None:
        while True:
            await asyncio.sleep(PROGRESS_INTERVAL)
            if self.latest is None or self.latest == self._written:
                continue
            value = self.latest
            async with self._deps.sessions.begin() as session:
                await processing.record_progress(
                    session, self._asset_id, value, now=self._deps.clock()
                )
            self._written = value


async def encode(deps: MediaDeps, asset_id: str, version: int) -> None:
    async with deps.sessions() as session:
        asset = await session.get(Asset, asset_id)
    if asset is None or asset.status != "preparing" or asset.version >= version:
        return
    out_dir = deps.scratch_dir / asset_id / f"v{version}"
    shutil.rmtree(out_dir, ignore_errors=True)
    progress = _Progress(deps, asset_id)
    ticker = asyncio.create_task(progress.run())
    try:
        path, probed, _kind = await _probe_checked(deps, asset)
        result = await package.transcode(
            path,
            probed,
            _plan(deps, asset, probed),
            out_dir,
            ffmpeg=deps.ffmpeg,
            preset=deps.preset,
            timeout_factor=deps.timeout_factor,
            min_timeout=deps.min_timeout,
            on_progress=progress.update,
        )
    except EncodeFailed as error:
        log.warning("asset.encode_failed", asset_id=asset_id, stderr=error.stderr_tail[-2000:])
        await _refuse(deps, asset_id, error)
        return
    except PipelineError as error:
        await _refuse(deps, asset_id, error)
        return
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
    prefix = layout.asset_version_prefix(asset.environment_id, asset_id, version)
    await deps.store.delete_prefix(prefix)
    count = await _store_outputs(deps, out_dir, prefix)
    previous = asset.version
    async with deps.sessions.begin() as session:
        locked = await processing.lock_asset(session, asset_id)
        if locked is None or locked.status != "preparing" or locked.version >= version:
            return
        await processing.publish(
            session,
            locked,
            version=version,
            renditions=rendition_facts(result, prefix),
            facts=asset_facts(result),
            now=deps.clock(),
        )
    shutil.rmtree(out_dir.parent, ignore_errors=True)
    if result.duration > 0:
        deps.metrics.processing_seconds.observe(result.wall_seconds / (result.duration / 60))
    if previous:
        old = layout.asset_version_prefix(asset.environment_id, asset_id, previous)
        await deps.store.delete_prefix(old)
    log.info(
        "asset.ready",
        asset_id=asset_id,
        version=version,
        objects=count,
        encode_seconds=round(result.wall_seconds, 2),
        duration=result.duration,
    )


async def _cut_clip(deps: MediaDeps, asset: Asset, target: Path) -> ClipCut | None:
    """Cut a clip's input from its source asset's input (stream copy where the keyframes allow,
    else re-encoded); how it was cut, or None when refused."""
    async with deps.sessions() as session:
        source = await session.get(Asset, str(asset.settings.get("source_asset_id")))
    if source is None or not source_path(deps, source).exists():
        await _fail(deps, asset.id, INVALID_INPUT, "The clip's source asset no longer exists.")
        return None
    spec = asset.inputs[0]
    try:
        path, probed, _kind = await _probe_checked(deps, source)
        start, end = clip_range(probed, spec.get("start_time"), spec.get("end_time"))
        timeout = max(deps.min_timeout, (end - start) * 10)
        cut, refused = await cut_clip(
            deps.ffmpeg, path, probed, start, end, target, timeout=timeout
        )
    except PipelineError as error:
        if isinstance(error, EncodeFailed):
            log.warning("asset.clip_failed", asset_id=asset.id, stderr=error.stderr_tail[-2000:])
        await _refuse(deps, asset.id, error)
        return None
    if refused is not None:
        log.warning("asset.clip_copy_refused", asset_id=asset.id, stderr=refused[-2000:])
    log.info(
        "asset.clip_cut",
        asset_id=asset.id,
        source_asset_id=source.id,
        method=cut.method.value,
        reason=cut.reason,
        start=round(cut.start, 6),
        end=round(cut.end, 6),
    )
    return cut


async def _download(deps: MediaDeps, asset: Asset, target: Path) -> int | None:
    """Download a URL input through the outbound guard; the size, or None when refused."""
    url = str(asset.inputs[0].get("url") or "")
    try:
        fetched = await outbound.download_to(url, target, deps.outbound_policy)
    except outbound.OutboundRefused as error:
        await _fail(deps, asset.id, INVALID_INPUT, error.message)
        return None
    except outbound.OutboundFailed as error:
        message = f"The input URL could not be fetched: {error.message}"
        await _fail(deps, asset.id, INVALID_INPUT, message)
        return None
    return fetched.size


async def fetch_input(deps: MediaDeps, asset_id: str) -> None:
    """Bring an asset's input to this machine (a URL download, or a clip cut from another
    asset), then queue prepare."""
    async with deps.sessions() as session:
        asset = await session.get(Asset, asset_id)
    if asset is None or asset.status != "preparing" or not asset.inputs:
        return
    target = source_path(deps, asset)
    target.parent.mkdir(parents=True, exist_ok=True)
    cut: ClipCut | None = None
    if asset.ingest_type == "on_demand_clip":
        cut = await _cut_clip(deps, asset, target)
        size = None if cut is None else target.stat().st_size
    else:
        size = await _download(deps, asset, target)
    if size is None:
        return
    async with deps.sessions.begin() as session:
        locked = await processing.lock_asset(session, asset_id)
        if locked is None or locked.status != "preparing":
            return
        locked.source_size = size
        if cut is not None:
            record = {"method": cut.method.value, "reason": cut.reason, "start": cut.start}
            locked.settings = {**locked.settings, CLIP_CUT_KEY: record}
        locked.progress_state = "ingesting"
        await defer_job(
            session,
            processing.PREPARE_TASK,
            {"asset_id": asset_id},
            queueing_lock=f"prepare:{asset_id}",
        )
    log.info("asset.input_fetched", asset_id=asset_id, bytes=size)


def register_media_tasks(app: procrastinate.App, deps: MediaDeps) -> None:
    """Register the media jobs on ``app``. A job that raises (storage or database trouble) is
    retried with backoff; refused inputs are not errors here but errored assets."""
    retry = procrastinate.RetryStrategy(max_attempts=5, exponential_wait=5)

    @app.task(name=processing.PREPARE_TASK, retry=retry, pass_context=False)
    async def prepare_asset(asset_id: str) -> None:
        await prepare(deps, asset_id)

    @app.task(name=processing.ENCODE_TASK, retry=retry, pass_context=False)
    async def encode_asset(asset_id: str, version: int) -> None:
        await encode(deps, asset_id, version)

    @app.task(name=processing.FETCH_TASK, retry=retry, pass_context=False)
    async def fetch_asset_input(asset_id: str) -> None:
        await fetch_input(deps, asset_id)
